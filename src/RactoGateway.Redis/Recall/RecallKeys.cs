using StackExchange.Redis;

namespace RactoGateway.Redis.Recall;

/// <summary>
/// The one owner of the keys of long-term recall and of the owner index. A conversation's list is
/// <c>{prefix}:{conversationId}</c>, and since conversation ids are arbitrary strings (':' included) every key that starts
/// with <c>{prefix}:</c> is some conversation's key. So these keys start with <c>{prefix}#</c> instead: none can be a
/// conversation list of the same prefix, and the admin scan (<c>SCAN MATCH {prefix}:*</c>) never sees them. After the
/// '#' comes a family name without ':' and then ':', so keys of different families never meet either:
/// <list type="bullet">
/// <item><c>{prefix}#recall:{conversationId}</c>: the conversation's vector set;</item>
/// <item><c>{prefix}#owner:{owner}</c>: the owner's sorted set (member = conversation id, score = last activity, Unix ms);</item>
/// <item><c>{prefix}#meta:{conversationId}</c>: the conversation's hash, fields <c>owner</c> and <c>title</c>;</item>
/// <item><c>{prefix}#lease:{conversationId}</c>: which summarizer works on the conversation now (a string with an expiry).</item>
/// </list>
/// No hash tags: the keys of one owner are spread over the slots of a cluster, and every command touches one key.
/// </summary>
internal sealed class RecallKeys
{
    private readonly string _recall;
    private readonly string _owner;
    private readonly string _meta;
    private readonly string _lease;

    /// <summary>Keys under <paramref name="keyPrefix"/> (a <see cref="ChatMemoryConfig.KeyPrefix"/>, not empty).</summary>
    public RecallKeys(string keyPrefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        Prefix = keyPrefix;
        _recall = keyPrefix + "#recall:";
        _owner = keyPrefix + "#owner:";
        _meta = keyPrefix + "#meta:";
        _lease = keyPrefix + "#lease:";
    }

    /// <summary>The key prefix.</summary>
    public string Prefix { get; }

    /// <summary>A key of the vector set family that no conversation has (conversation ids are not empty): capability probes
    /// read it.</summary>
    public RedisKey Probe => new(_recall);

    /// <summary>The vector set of <paramref name="conversationId"/>.</summary>
    public RedisKey VectorSet(string conversationId) => new(_recall + conversationId);

    /// <summary>The sorted set of <paramref name="owner"/>'s conversations.</summary>
    public RedisKey Owner(string owner) => new(_owner + owner);

    /// <summary>The owner and title of <paramref name="conversationId"/>.</summary>
    public RedisKey Meta(string conversationId) => new(_meta + conversationId);

    /// <summary>The summarizers' lease on <paramref name="conversationId"/>.</summary>
    public RedisKey Lease(string conversationId) => new(_lease + conversationId);
}

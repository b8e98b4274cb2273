using System.Globalization;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The one owner of <c>append.lua</c>'s contract: the arguments (window, expiry, rule, then an id marker and an element
/// per message), the result (messages stored), and the <c>WAIT</c> that follows when replicas must acknowledge. Appends,
/// imports and trims all run through here.
/// </summary>
internal sealed class AppendScript
{
    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly RedisValue _window;
    private readonly long _ttlMilliseconds;
    private readonly RedisValue _rule;
    private readonly int _waitForReplicas;
    private readonly long _waitMilliseconds;

    public AppendScript(IConnectionMultiplexer connection, ChatMemoryConfig config)
    {
        _connection = connection;
        _database = connection.GetDatabase();
        _window = config.WindowSize;
        _ttlMilliseconds = TtlMilliseconds(config.Ttl);
        _rule = Rule(config.Window);
        _waitForReplicas = config.WaitForReplicas;
        _waitMilliseconds = (long)Math.Ceiling(config.WaitForReplicasTimeout.TotalMilliseconds);
    }

    /// <summary>The rule argument: "s" and MaxPinnedMessages (e.g. "s32") pins system messages, "t" trims whole exchanges.</summary>
    public static string Rule(ChatMemoryWindow window) =>
        (window.PinSystemMessages ? string.Create(CultureInfo.InvariantCulture, $"s{window.MaxPinnedMessages}") : "") + (window.ToolCallAware ? "t" : "");

    /// <summary>The expiry argument: milliseconds (never truncated to seconds), 0 for none.</summary>
    public static long TtlMilliseconds(TimeSpan? ttl) => ttl is { } t ? (long)t.TotalMilliseconds : 0L;

    /// <summary>The arguments for <paramref name="messages"/>, encoded here, before any I/O.</summary>
    public RedisValue[] Args(ChatMemoryMessage[] messages)
    {
        var args = Header(messages.Length, _ttlMilliseconds);
        for (var i = 0; i < messages.Length; i++)
        {
            args[3 + (2 * i)] = messages[i].MessageId is { } id ? MessageCodec.IdMarker(id) : RedisValue.EmptyString;
            args[4 + (2 * i)] = MessageCodec.Encode(messages[i]);
        }

        return args;
    }

    /// <summary>The arguments for elements already encoded (an import), stored byte for byte.</summary>
    /// <param name="elements">Each element with the id it carries.</param>
    /// <param name="ttlMilliseconds">The expiry for this conversation, 0 to leave it as it is.</param>
    /// <param name="replace">Delete the conversation first, in the same script run.</param>
    public RedisValue[] Args(IReadOnlyList<(ReadOnlyMemory<byte> Element, string? MessageId)> elements, long ttlMilliseconds, bool replace = false)
    {
        var args = Header(elements.Count, ttlMilliseconds);
        if (replace)
        {
            args[2] = (string?)_rule + "r";
        }

        for (var i = 0; i < elements.Count; i++)
        {
            args[3 + (2 * i)] = elements[i].MessageId is { } id ? MessageCodec.IdMarker(id) : RedisValue.EmptyString;
            args[4 + (2 * i)] = elements[i].Element;
        }

        return args;
    }

    /// <summary>The arguments that only trim (no message): the script then returns the number of messages removed.
    /// The expiry is left as it is.</summary>
    public RedisValue[] TrimArgs() => Header(0, 0);

    /// <summary>Runs the append on <paramref name="key"/>, then WAIT when replicas must acknowledge it.</summary>
    /// <returns>The number of messages stored (duplicates by id are not).</returns>
    public async Task<long> RunAsync(RedisKey key, RedisValue[] args)
    {
        if (_waitForReplicas == 0)
        {
            return (long)await _database.EvaluateAsync(ChatMemoryScripts.Append, key, args).ConfigureAwait(false);
        }

        var before = await _database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        var stored = (long)await _database.EvaluateAsync(ChatMemoryScripts.Append, key, args).ConfigureAwait(false);
        var master = await _database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)await _connection.GetServer(master).ExecuteAsync("WAIT", _waitForReplicas, _waitMilliseconds).ConfigureAwait(false)
            : 0);
        return stored;
    }

    /// <inheritdoc cref="RunAsync"/>
    public long Run(RedisKey key, RedisValue[] args)
    {
        if (_waitForReplicas == 0)
        {
            return (long)_database.Evaluate(ChatMemoryScripts.Append, key, args);
        }

        var before = _database.IdentifyEndpoint(key);
        var stored = (long)_database.Evaluate(ChatMemoryScripts.Append, key, args);
        var master = _database.IdentifyEndpoint(key);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)_connection.GetServer(master).Execute("WAIT", _waitForReplicas, _waitMilliseconds)
            : 0);
        return stored;
    }

    private RedisValue[] Header(int count, RedisValue ttlMilliseconds)
    {
        var args = new RedisValue[3 + (2 * count)];
        args[0] = _window;
        args[1] = ttlMilliseconds;
        args[2] = _rule;
        return args;
    }

    // WAIT is not allowed inside a script: it follows the append on the connection to the master that stored it, and
    // counts the replicas that have that connection's last write. The master is identified (an EXISTS that follows
    // MOVED) before and after; if the slot moved in between (a failover, a resharding), nobody can vouch for the write
    // and it counts as acknowledged by none.
    private void ThrowIfUnreplicated(long acknowledged)
    {
        if (acknowledged < _waitForReplicas)
        {
            throw new ChatMemoryReplicationException(_waitForReplicas, acknowledged);
        }
    }
}

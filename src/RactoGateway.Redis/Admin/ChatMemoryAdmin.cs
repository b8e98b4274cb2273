using System.Runtime.CompilerServices;
using RactoGateway.Redis.Admin;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Recall;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// The operator's surface over stored conversations: find them, export and import them losslessly, measure them, and
/// trim them, by the same rules (window, roles, sizes) and the same append script as <see cref="RedisChatMemory"/>.
/// Scans cover every master of a cluster. The <c>chatmem</c> tool is a thin shell over this class.
/// </summary>
/// <remarks>Thread-safe. The connection stays the caller's. Bad arguments throw <see cref="ArgumentException"/> before any I/O.</remarks>
public sealed partial class ChatMemoryAdmin
{
    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly ChatMemoryConfig _config;
    private readonly AppendScript _append;
    private readonly MessageRules _rules;
    private readonly ConversationKey _keys;

    // The owner index and the recall vectors of the same prefix, which export and import carry with each conversation.
    private readonly OwnerIndex _owners;
    private readonly VectorSetStore _vectors;

    /// <summary>Works on the conversations of <paramref name="config"/>'s key prefix, over <paramref name="connection"/>.</summary>
    /// <param name="connection">The connection; it stays the caller's.</param>
    /// <param name="config">The prefix, window, roles and limits the application uses; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
    public ChatMemoryAdmin(IConnectionMultiplexer connection, ChatMemoryConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _config = ChatMemoryConfig.ValidatedCopy(config, nameof(config));

        _connection = connection;
        _database = connection.GetDatabase();
        _append = new AppendScript(_config);
        _rules = new MessageRules(_config);
        _keys = new ConversationKey(_config.KeyPrefix);
        var borrowed = ConnectionSet.Borrow(connection, 1, null, pipelined: false);
        _owners = new OwnerIndex(borrowed, _config.KeyPrefix);
        _vectors = new VectorSetStore(borrowed, _config.KeyPrefix);
    }

    /// <summary>The settings in force (a copy).</summary>
    public ChatMemoryConfig Config => _config.Clone();

    /// <summary>The ids of the stored conversations, unsorted (SCAN order), across every master.</summary>
    /// <param name="match">A glob over the id (<c>* ? [abc] \x</c>); <see langword="null"/> for all.</param>
    /// <param name="literal">Match <paramref name="match"/> literally: its glob characters match themselves.</param>
    /// <param name="cancellationToken">Stops the scan.</param>
    /// <returns>The ids, each once.</returns>
    /// <exception cref="ArgumentException"><paramref name="match"/> is empty.</exception>
    public IAsyncEnumerable<string> ListConversationsAsync(string? match = null, bool literal = false, CancellationToken cancellationToken = default)
    {
        var pattern = _keys.Pattern(match, literal);
        return Ids(pattern, cancellationToken);
    }

    /// <summary>Applies the window (<see cref="ChatMemoryConfig.MaxTurns"/> and <see cref="ChatMemoryConfig.Window"/>) to
    /// the matching conversations, through the same script as every append; expiries are left as they are.</summary>
    /// <param name="match">A glob over the id; <see langword="null"/> for all.</param>
    /// <param name="literal">Match <paramref name="match"/> literally.</param>
    /// <param name="progress">Told the conversations done and the total; optional.</param>
    /// <param name="cancellationToken">Stops between batches; a conversation is trimmed whole or not at all.</param>
    /// <returns>The conversations seen, those trimmed, and the messages removed.</returns>
    public async Task<ChatMemoryTrimResult> TrimAsync(
        string? match = null, bool literal = false, IProgress<ChatMemoryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var keys = await KeysAsync(match, literal, cancellationToken).ConfigureAwait(false);
        var args = _append.Arguments.Trim();
        long trimmed = 0, removed = 0;
        await Batches.ForEachAsync(keys, key => _append.RunAsync(_connection, key, args), (_, outcome) =>
        {
            trimmed += outcome.Dropped > 0 ? 1 : 0;
            removed += outcome.Dropped;
        }, Progress(progress, keys.Count), cancellationToken).ConfigureAwait(false);
        return new ChatMemoryTrimResult(keys.Count, trimmed, removed);
    }

    /// <summary>Counts the matching conversations and their messages, estimates their memory from a sample, and reports
    /// the spread of their remaining expiries.</summary>
    /// <param name="match">A glob over the id; <see langword="null"/> for all.</param>
    /// <param name="literal">Match <paramref name="match"/> literally.</param>
    /// <param name="sample">Conversations whose <c>MEMORY USAGE</c> is measured, at least 0.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The statistics.</returns>
    public async Task<ChatMemoryStats> GetStatsAsync(string? match = null, bool literal = false, int sample = 200, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sample);
        var keys = await KeysAsync(match, literal, cancellationToken).ConfigureAwait(false);
        long messages = 0, sampledBytes = 0, sampled = 0;
        var ttls = new List<TimeSpan>();
        await Batches.ForEachAsync(keys, LengthAndExpiryAsync, (_, read) =>
        {
            messages += read.Length;
            if (read.Ttl is { } ttl)
            {
                ttls.Add(ttl);
            }
        }, progress: null, cancellationToken).ConfigureAwait(false);

        string? memoryError = null;
        await Batches.ForEachAsync(keys.GetRange(0, Math.Min(sample, keys.Count)), async key =>
        {
            try
            {
                // After a server has refused MEMORY USAGE once, it is not asked again.
                return memoryError is null ? await _database.ExecuteAsync("MEMORY", "USAGE", key).ConfigureAwait(false) : null;
            }
            catch (RedisServerException ex)
            {
                // A server without MEMORY USAGE (or with it disabled): reported rather than failed.
                memoryError ??= ex.Message;
                return null;
            }
        }, (_, bytes) =>
        {
            if (bytes is { IsNull: false })
            {
                sampledBytes += (long)bytes;
                sampled++;
            }
        }, progress: null, cancellationToken).ConfigureAwait(false);

        ttls.Sort();
        TimeSpan? median = ttls.Count == 0 ? null
            : ttls.Count % 2 == 1 ? ttls[ttls.Count / 2]
            : (ttls[(ttls.Count / 2) - 1] + ttls[ttls.Count / 2]) / 2;
        return new ChatMemoryStats(
            keys.Count, messages, sampled, sampled > 0 ? sampledBytes * keys.Count / sampled : null, memoryError,
            keys.Count - ttls.Count, ttls.Count > 0 ? ttls[0] : null, median, ttls.Count > 0 ? ttls[^1] : null);
    }

    private async IAsyncEnumerable<string> Ids(string pattern, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var key in ConversationScan.KeysAsync(_connection, pattern, cancellationToken).ConfigureAwait(false))
        {
            yield return _keys.IdOf(key);
        }
    }

    private Task<List<RedisKey>> KeysAsync(string? match, bool literal, CancellationToken cancellationToken) =>
        ConversationScan.ListAsync(_connection, _keys.Pattern(match, literal), cancellationToken);

    private async Task<(long Length, TimeSpan? Ttl)> LengthAndExpiryAsync(RedisKey key)
    {
        var length = _database.ListLengthAsync(key);
        var ttl = _database.KeyTimeToLiveAsync(key);
        return (await length.ConfigureAwait(false), await ttl.ConfigureAwait(false));
    }

    private static Action<int>? Progress(IProgress<ChatMemoryProgress>? progress, int total) =>
        progress is null ? null : done => progress.Report(new ChatMemoryProgress(done, total));
}

/// <summary>How far an operation of <see cref="ChatMemoryAdmin"/> has come.</summary>
/// <param name="Done">Units done (conversations, or bytes read for an import).</param>
/// <param name="Total">Units in all, when known (0 when not).</param>
public readonly record struct ChatMemoryProgress(long Done, long Total);

/// <summary>What <see cref="ChatMemoryAdmin.TrimAsync"/> did.</summary>
/// <param name="Conversations">Conversations that matched.</param>
/// <param name="Trimmed">Conversations that lost messages.</param>
/// <param name="MessagesRemoved">Messages removed in all.</param>
public sealed record ChatMemoryTrimResult(long Conversations, long Trimmed, long MessagesRemoved);

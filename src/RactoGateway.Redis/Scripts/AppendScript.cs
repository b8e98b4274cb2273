using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using RESPite.Messages;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The one owner of <c>append.lua</c>'s contract: the arguments (window, expiry, rule, then an id marker and an element
/// per message), the result (messages stored), how it is sent, and the <c>WAIT</c> that follows when replicas must
/// acknowledge. Appends, imports and trims all run through here.
/// </summary>
/// <remarks>The memory's appends (<see cref="AppendAsync"/>) send <c>EVALSHA</c> through
/// <see cref="IDatabaseAsync.ExecuteRespAsync"/> with pooled arguments (<see cref="PooledArgs"/>), except on a cluster
/// (see <see cref="ChatConnection.UsesRespReplies"/>); <see cref="RunAsync"/> is the plain path for everything else.</remarks>
internal sealed class AppendScript
{
    private static readonly RedisKeyOrValue One = (RedisValue)1;

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
        _rule = Rule(config);
        _waitForReplicas = config.WaitForReplicas;
        _waitMilliseconds = (long)Math.Ceiling(config.WaitForReplicasTimeout.TotalMilliseconds);
    }

    /// <summary>The rule argument: "s" and MaxPinnedMessages (e.g. "s32") pins system messages, "t" trims whole exchanges,
    /// "f" and MaxPendingMessages keeps evicted messages for the rolling summary.</summary>
    public static string Rule(ChatMemoryConfig config) =>
        (config.Window.PinSystemMessages ? string.Create(CultureInfo.InvariantCulture, $"s{config.Window.MaxPinnedMessages}") : "")
        + (config.Window.ToolCallAware ? "t" : "")
        + (config.Summarize ? string.Create(CultureInfo.InvariantCulture, $"f{config.MaxPendingMessages}") : "");

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
    /// <param name="restore">The elements are a whole summarized conversation: store them as they are, only into an empty
    /// list (the script returns -1 and writes nothing when the conversation exists and <paramref name="replace"/> is false).</param>
    public RedisValue[] Args(IReadOnlyList<(ReadOnlyMemory<byte> Element, string? MessageId)> elements, long ttlMilliseconds, bool replace = false, bool restore = false)
    {
        var args = Header(elements.Count, ttlMilliseconds);
        if (replace || restore)
        {
            args[2] = (string?)_rule + (replace ? "r" : "") + (restore ? "x" : "");
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
    /// <returns>The number of messages stored (duplicates by id are not); when only trimming, the number removed.</returns>
    public async Task<long> RunAsync(RedisKey key, RedisValue[] args) =>
        (_waitForReplicas == 0
            ? await EvaluateAsync(_database, key, args).ConfigureAwait(false)
            : await WaitedAsync(_connection, _database, key, () => EvaluateAsync(_database, key, args)).ConfigureAwait(false)).Stored;

    /// <summary>The memory's append of <paramref name="messages"/> on <paramref name="connection"/>: pooled
    /// <c>EVALSHA</c> (the body once on NOSCRIPT), the classic call on a cluster, then WAIT when replicas must acknowledge.</summary>
    /// <returns>The messages stored (duplicates by id are not), and under a rolling summary the pending count.</returns>
    /// <remarks>The replicated path is a method of its own: its closure would otherwise be allocated on every call.</remarks>
    public ValueTask<AppendOutcome> AppendAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        _waitForReplicas == 0 ? SendAsync(connection, key, messages) : new(AppendWaitedAsync(connection, key, messages));

    /// <inheritdoc cref="AppendAsync"/>
    public AppendOutcome Append(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        _waitForReplicas == 0 ? Send(connection, key, messages) : AppendWaited(connection, key, messages);

    private Task<AppendOutcome> AppendWaitedAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        WaitedAsync(connection.Multiplexer, connection.Database, key, () => SendAsync(connection, key, messages).AsTask());

    private AppendOutcome AppendWaited(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        Waited(connection.Multiplexer, connection.Database, key, () => Send(connection, key, messages));

    private static async Task<AppendOutcome> EvaluateAsync(IDatabase database, RedisKey key, RedisValue[] args) =>
        AppendOutcome.From(await database.EvaluateAsync(ChatMemoryScripts.Append, key, args).ConfigureAwait(false));

    private static AppendOutcome Evaluate(IDatabase database, RedisKey key, RedisValue[] args) =>
        AppendOutcome.From(database.Evaluate(ChatMemoryScripts.Append, key, args));

    private ValueTask<AppendOutcome> SendAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        connection.UsesRespReplies ? SendPooledAsync(connection.Pipeline, key, messages) : new(EvaluateAsync(connection.Database, key, Args(messages)));

    private AppendOutcome Send(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages)
    {
        if (!connection.UsesRespReplies)
        {
            return Evaluate(connection.Database, key, Args(messages));
        }

        try
        {
            return Stored(ExecutePooled(connection.Database, key, messages, byText: false));
        }
        catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
        {
            return Stored(ExecutePooled(connection.Database, key, messages, byText: true));
        }
    }

    // A pooled builder: the append's only other asynchronous step is the telemetry wrapper's task.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AppendOutcome> SendPooledAsync(AutoPipeline pipeline, RedisKey key, ChatMemoryMessage[] messages)
    {
        try
        {
            return Stored(await ExecutePooledAsync(pipeline, key, messages, byText: false).ConfigureAwait(false));
        }
        catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
        {
            return Stored(await ExecutePooledAsync(pipeline, key, messages, byText: true).ConfigureAwait(false));
        }
    }

    private ValueTask<RespResult> ExecutePooledAsync(AutoPipeline pipeline, RedisKey key, ChatMemoryMessage[] messages, bool byText)
    {
        using var args = PooledArgs.Create(this, key, messages, byText);
        return pipeline.ExecuteRespAsync(args.Command, args.Memory);
    }

    private RespResult ExecutePooled(IDatabase database, RedisKey key, ChatMemoryMessage[] messages, bool byText)
    {
        using var args = PooledArgs.Create(this, key, messages, byText);
        return database.ExecuteResp(args.Command, args.Memory);
    }

    /// <summary>The script's reply, read from the pooled buffer (ReadRedisValue measured 72 B per append): an integer,
    /// or under a rolling summary three.</summary>
    private static AppendOutcome Stored(RespResult reply)
    {
        using (reply)
        {
            var reader = reply.Read();
            if (!reader.IsAggregate)
            {
                return new(Integer(ref reader, reply), 0, 0);
            }

            reader.MoveNext();
            var stored = Integer(ref reader, reply);
            reader.MoveNext();
            var pending = Integer(ref reader, reply);
            reader.MoveNext();
            return new(stored, pending, Integer(ref reader, reply));
        }
    }

    private static long Integer(ref RespReader reader, RespResult reply) =>
        reader.TryGetSpan(out var digits) && Utf8Parser.TryParse(digits, out long value, out _)
            ? value
            : throw new RedisException($"append.lua answered {reply.Prefix} instead of integers.");

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
    private async Task<AppendOutcome> WaitedAsync(IConnectionMultiplexer connection, IDatabase database, RedisKey key, Func<Task<AppendOutcome>> append)
    {
        var before = await database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        var stored = await append().ConfigureAwait(false);
        var master = await database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)await connection.GetServer(master).ExecuteAsync("WAIT", _waitForReplicas, _waitMilliseconds).ConfigureAwait(false)
            : 0);
        return stored;
    }

    private AppendOutcome Waited(IConnectionMultiplexer connection, IDatabase database, RedisKey key, Func<AppendOutcome> append)
    {
        var before = database.IdentifyEndpoint(key);
        var stored = append();
        var master = database.IdentifyEndpoint(key);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)connection.GetServer(master).Execute("WAIT", _waitForReplicas, _waitMilliseconds)
            : 0);
        return stored;
    }

    private void ThrowIfUnreplicated(long acknowledged)
    {
        if (acknowledged < _waitForReplicas)
        {
            throw new ChatMemoryReplicationException(_waitForReplicas, acknowledged);
        }
    }

    /// <summary>
    /// <c>EVALSHA sha 1 key window ttl rule</c>, then (id marker, element) per message (<c>EVAL body ...</c> after
    /// NOSCRIPT), without per-call arrays: the array is rented and the elements are encoded into a per-thread
    /// <see cref="EncodeBuffer"/>. StackExchange.Redis copies every argument into its own request buffer while it creates
    /// the command, so dispose as soon as the call returns.
    /// </summary>
    private readonly struct PooledArgs : IDisposable
    {
        private const int Fixed = 6;

        private readonly RedisKeyOrValue[] _args;
        private readonly int _count;
        private readonly EncodeBuffer _buffer;

        private PooledArgs(string command, RedisKeyOrValue[] args, int count, EncodeBuffer buffer)
        {
            Command = command;
            _args = args;
            _count = count;
            _buffer = buffer;
        }

        /// <summary><c>EVALSHA</c>, or <c>EVAL</c> when the script's body is sent.</summary>
        public string Command { get; }

        /// <summary>The arguments after the command name.</summary>
        public ReadOnlyMemory<RedisKeyOrValue> Memory => new(_args, 0, _count);

        public static PooledArgs Create(AppendScript script, RedisKey key, ChatMemoryMessage[] messages, bool byText)
        {
            var count = Fixed + (2 * messages.Length);
            var args = ArrayPool<RedisKeyOrValue>.Shared.Rent(count);
            var buffer = EncodeBuffer.Rent();
            try
            {
                // Encode everything first: the buffer may move while it grows, so the slices are taken afterwards.
                Span<int> ends = messages.Length <= 32 ? stackalloc int[64] : new int[2 * messages.Length];
                for (var i = 0; i < messages.Length; i++)
                {
                    if (messages[i].MessageId is { } id)
                    {
                        MessageCodec.WriteIdMarker(buffer, id);
                    }

                    ends[2 * i] = buffer.Length;
                    buffer.WriteElement(messages[i]);
                    ends[(2 * i) + 1] = buffer.Length;
                }

                args[0] = byText ? ChatMemoryScripts.Append.Body : ChatMemoryScripts.Append.HexSha1;
                args[1] = One;
                args[2] = key;
                args[3] = script._window;
                args[4] = (RedisValue)script._ttlMilliseconds;
                args[5] = script._rule;
                var start = 0;
                for (var i = 0; i < messages.Length; i++)
                {
                    var markerEnd = ends[2 * i];
                    var elementEnd = ends[(2 * i) + 1];
                    args[Fixed + (2 * i)] = markerEnd == start ? RedisValue.EmptyString : (RedisValue)buffer.Slice(start, markerEnd - start);
                    args[Fixed + (2 * i) + 1] = (RedisValue)buffer.Slice(markerEnd, elementEnd - markerEnd);
                    start = elementEnd;
                }

                return new PooledArgs(byText ? "EVAL" : "EVALSHA", args, count, buffer);
            }
            catch
            {
                ArrayPool<RedisKeyOrValue>.Shared.Return(args, clearArray: true);
                buffer.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            // Cleared so that the pool holds no keys or slices of the buffer.
            ArrayPool<RedisKeyOrValue>.Shared.Return(_args, clearArray: true);
            _buffer.Dispose();
        }
    }
}

/// <summary>What an append did: messages stored; under a rolling summary, the messages now pending (0 when the append
/// evicted nothing) and those it dropped past MaxPendingMessages.</summary>
internal readonly record struct AppendOutcome(long Stored, long Pending, long Dropped)
{
    public static AppendOutcome From(RedisResult result) =>
        result.Resp2Type == ResultType.Array ? new((long)result[0], (long)result[1], (long)result[2]) : new((long)result, 0, 0);
}

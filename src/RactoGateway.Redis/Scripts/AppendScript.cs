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
/// <remarks>The memory's appends (<see cref="AppendAsync"/>) are an <see cref="AppendCommand"/> that
/// <see cref="ChatConnection"/> runs: pooled arguments (<see cref="PooledArgs"/>) on a standalone server, the plain call
/// on a cluster, WAIT after either; <see cref="RunAsync"/> is the plain path for everything else.</remarks>
internal sealed class AppendScript
{
    private static readonly RedisKeyOrValue One = (RedisValue)1;

    private readonly ChatConnection? _plain;
    private readonly RedisValue _window;
    private readonly long _ttlMilliseconds;
    private readonly RedisValue _rule;
    private readonly ReplicaWait _replicas;

    /// <summary>The script as a memory runs it, on the connection each call is given.</summary>
    public AppendScript(ChatMemoryConfig config)
    {
        _window = config.WindowSize;
        _ttlMilliseconds = TtlMilliseconds(config.Ttl);
        _rule = Rule(config);
        _replicas = new(config.WaitForReplicas, (long)Math.Ceiling(config.WaitForReplicasTimeout.TotalMilliseconds));
    }

    /// <summary>The script as <see cref="RunAsync"/> runs it (imports, trims), on <paramref name="connection"/>'s plain transport.</summary>
    public AppendScript(IConnectionMultiplexer connection, ChatMemoryConfig config)
        : this(config) => _plain = new ChatConnection(connection, pipelined: false);

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
        (await (_plain ?? throw new InvalidOperationException("This AppendScript was built without a connection.")).RunAsync<ArgsCommand, AppendOutcome>(new(this, key, args)).ConfigureAwait(false)).Stored;

    /// <summary>The memory's append of <paramref name="messages"/> on <paramref name="connection"/> (see
    /// <see cref="ChatConnection.RunAsync"/>: pooled <c>EVALSHA</c>, or the plain call on a cluster, then WAIT when
    /// replicas must acknowledge).</summary>
    /// <returns>The messages stored (duplicates by id are not), and under a rolling summary the pending count.</returns>
    public ValueTask<AppendOutcome> AppendAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        connection.RunAsync<AppendCommand, AppendOutcome>(Command(key, messages));

    /// <inheritdoc cref="AppendAsync"/>
    public AppendOutcome Append(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        connection.Run<AppendCommand, AppendOutcome>(Command(key, messages));

    /// <summary>The append of <paramref name="messages"/> to <paramref name="key"/>, as a command either transport runs.</summary>
    public AppendCommand Command(RedisKey key, ChatMemoryMessage[] messages) => new(this, key, messages);

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

    /// <summary>The memory's append as a command: pooled <c>EVALSHA</c> (<see cref="PooledArgs"/>, read by
    /// <see cref="Stored"/>), or the plain <c>EVALSHA</c> with <see cref="Args(ChatMemoryMessage[])"/>.</summary>
    internal readonly struct AppendCommand(AppendScript script, RedisKey key, ChatMemoryMessage[] messages) : IChatCommand<AppendOutcome>
    {
        public RedisKey Key => key;

        public ReplicaWait Replicas => script._replicas;

        public bool Pooled => true;

        public PooledRequest Render(bool byText) => PooledArgs.Create(script, key, messages, byText);

        public AppendOutcome Read(RespResult reply) => Stored(reply);

        public async Task<AppendOutcome> SendAsync(IDatabaseAsync database) =>
            AppendOutcome.From(await database.EvaluateAsync(ChatMemoryScripts.Append, key, script.Args(messages)).ConfigureAwait(false));

        public AppendOutcome Send(IDatabase database) => AppendOutcome.From(database.Evaluate(ChatMemoryScripts.Append, key, script.Args(messages)));
    }

    /// <summary>The script with arguments built by the caller (imports, trims): the plain call only.</summary>
    private readonly struct ArgsCommand(AppendScript script, RedisKey key, RedisValue[] args) : IChatCommand<AppendOutcome>
    {
        public RedisKey Key => key;

        public ReplicaWait Replicas => script._replicas;

        public bool Pooled => false;

        public PooledRequest Render(bool byText) => throw new NotSupportedException();

        public AppendOutcome Read(RespResult reply) => throw new NotSupportedException();

        public async Task<AppendOutcome> SendAsync(IDatabaseAsync database) =>
            AppendOutcome.From(await database.EvaluateAsync(ChatMemoryScripts.Append, key, args).ConfigureAwait(false));

        public AppendOutcome Send(IDatabase database) => AppendOutcome.From(database.Evaluate(ChatMemoryScripts.Append, key, args));
    }

    /// <summary>
    /// <c>EVALSHA sha 1 key window ttl rule</c>, then (id marker, element) per message (<c>EVAL body ...</c> after
    /// NOSCRIPT), without per-call arrays: the array is rented and the elements are encoded into a per-thread
    /// <see cref="EncodeBuffer"/> (see <see cref="PooledRequest"/>).
    /// </summary>
    private static class PooledArgs
    {
        private const int Fixed = 6;

        public static PooledRequest Create(AppendScript script, RedisKey key, ChatMemoryMessage[] messages, bool byText)
        {
            var count = Fixed + (2 * messages.Length);
            var buffer = EncodeBuffer.Rent();
            var request = PooledRequest.Rent(byText ? "EVAL" : "EVALSHA", count, buffer, out var args);
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

                return request;
            }
            catch
            {
                request.Dispose();
                throw;
            }
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

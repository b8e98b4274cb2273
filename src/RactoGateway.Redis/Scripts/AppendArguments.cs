using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The one writer of <c>append.lua</c>'s, <c>restore.lua</c>'s and <c>branch.lua</c>'s arguments (their layout is
/// documented at the top of each script): the rule's integers in fixed positions, then an id marker and an element per message. Every caller
/// (appends pooled or classic, imports, trims, the benchmarks and the golden cases) builds them here.
/// </summary>
internal sealed class AppendArguments
{
    /// <summary>The fixed arguments before the first (id marker, element) pair of <c>append.lua</c>.</summary>
    public const int HeaderLength = 6;

    private readonly RedisValue _window;
    private readonly RedisValue _maxPinned;
    private readonly RedisValue _wholeExchanges;
    private readonly RedisValue _maxPending;
    private readonly RedisValue _ttl;
    private readonly RedisValue[] _header;

    /// <summary>The arguments of <paramref name="config"/>'s window rule; appends expire after its
    /// <see cref="ChatMemoryConfig.Ttl"/>.</summary>
    public AppendArguments(ChatMemoryConfig config)
    {
        _window = config.WindowSize;
        _maxPinned = config.Window.PinSystemMessages ? config.Window.MaxPinnedMessages : 0;
        _wholeExchanges = config.Window.ToolCallAware ? 1 : 0;
        _maxPending = config.Summarize ? config.MaxPendingMessages : 0;
        _ttl = TtlMilliseconds(config.Ttl);
        _header = Header(TtlMilliseconds(config.Ttl), replace: false);
    }

    /// <summary>The expiry argument: milliseconds (never truncated to seconds), 0 for none.</summary>
    public static long TtlMilliseconds(TimeSpan? ttl) => ttl is { } t ? (long)t.TotalMilliseconds : 0L;

    /// <summary>An append of <paramref name="messages"/>, encoded here, before any I/O.</summary>
    public RedisValue[] Append(ChatMemoryMessage[] messages)
    {
        var args = new RedisValue[HeaderLength + (2 * messages.Length)];
        _header.CopyTo(args, 0);
        for (var i = 0; i < messages.Length; i++)
        {
            args[HeaderLength + (2 * i)] = messages[i].MessageId is { } id ? MessageCodec.IdMarker(id) : RedisValue.EmptyString;
            args[HeaderLength + (2 * i) + 1] = MessageCodec.Encode(messages[i]);
        }

        return args;
    }

    /// <summary>An append of elements already encoded (an import), stored byte for byte.</summary>
    /// <param name="elements">Each element with the id it carries.</param>
    /// <param name="ttlMilliseconds">The expiry for this conversation, 0 to leave it as it is.</param>
    /// <param name="replace">Delete the conversation first, in the same script run.</param>
    public RedisValue[] Import(IReadOnlyList<(ReadOnlyMemory<byte> Element, string? MessageId)> elements, long ttlMilliseconds, bool replace)
    {
        var args = new RedisValue[HeaderLength + (2 * elements.Count)];
        Header(ttlMilliseconds, replace).CopyTo(args, 0);
        for (var i = 0; i < elements.Count; i++)
        {
            args[HeaderLength + (2 * i)] = elements[i].MessageId is { } id ? MessageCodec.IdMarker(id) : RedisValue.EmptyString;
            args[HeaderLength + (2 * i) + 1] = elements[i].Element;
        }

        return args;
    }

    /// <summary>A trim (no message): the window applied to what is stored; the expiry is left as it is.</summary>
    public RedisValue[] Trim() => Header(0, replace: false);

    /// <summary><c>restore.lua</c>'s arguments: a whole summarized conversation, stored as it is.</summary>
    /// <param name="elements">The elements, oldest first.</param>
    /// <param name="ttlMilliseconds">The expiry, 0 to leave it as it is.</param>
    /// <param name="replace">Delete the conversation first; otherwise the script stores only into an empty list.</param>
    public static RedisValue[] Restore(IReadOnlyList<(ReadOnlyMemory<byte> Element, string? MessageId)> elements, long ttlMilliseconds, bool replace)
    {
        var args = new RedisValue[2 + elements.Count];
        args[0] = ttlMilliseconds;
        args[1] = replace ? 1 : 0;
        for (var i = 0; i < elements.Count; i++)
        {
            args[2 + i] = elements[i].Element;
        }

        return args;
    }

    /// <summary><c>branch.lua</c>'s arguments: the first <paramref name="keep"/> messages, truncated to in place (the
    /// list then expires after this configuration's <see cref="ChatMemoryConfig.Ttl"/>, as an append's does) or read.</summary>
    /// <param name="keep">The messages to keep, counted as <c>GetHistoryAsync</c> lists them; not negative.</param>
    /// <param name="truncate">Truncate the list to them; otherwise only read them (a fork's copy).</param>
    public RedisValue[] Branch(int keep, bool truncate) => [keep, truncate ? 1 : 0, truncate ? _ttl : 0];

    /// <summary><c>restore.lua</c>'s arguments for a fork's copy: <paramref name="elements"/> (as <c>branch.lua</c> read
    /// them) stored into an empty list only, expiring after this configuration's <see cref="ChatMemoryConfig.Ttl"/>.</summary>
    public RedisValue[] Copy(RedisValue[] elements)
    {
        var args = new RedisValue[2 + elements.Length];
        args[0] = _ttl;
        args[1] = 0;
        elements.CopyTo(args, 2);
        return args;
    }

    private RedisValue[] Header(long ttlMilliseconds, bool replace) =>
        [_window, ttlMilliseconds, _maxPinned, _wholeExchanges, _maxPending, replace ? 1 : 0];

    /// <summary>
    /// <c>EVALSHA sha 1 key</c>, the append's arguments, then (id marker, element) per message (<c>EVAL body ...</c>
    /// after NOSCRIPT), without per-call arrays: the array is rented and the elements are encoded into a per-thread
    /// <see cref="EncodeBuffer"/>. StackExchange.Redis copies every argument into its own request buffer while it creates
    /// the command, so dispose as soon as the call returns.
    /// </summary>
    public PooledRequest Pooled(RedisKey key, ChatMemoryMessage[] messages, bool byText)
    {
        const int Fixed = 3 + HeaderLength;
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
            args[1] = OneKey;
            args[2] = key;
            for (var i = 0; i < HeaderLength; i++)
            {
                args[3 + i] = _header[i];
            }

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

    private static readonly RedisKeyOrValue OneKey = (RedisValue)1;
}

using System.Buffers;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// The arguments of the two hot commands, built without per-call arrays: StackExchange.Redis copies every argument into
// its own pooled request buffer while it creates the command, so ours go back to their pools as soon as the call returns.
public sealed partial class RedisChatMemory
{
    /// <summary>
    /// The one place the arguments of <c>append.lua</c> are built: <c>EVALSHA sha 1 key window ttl rule</c>, then
    /// (id marker, element) per message (<c>EVAL body ...</c> after NOSCRIPT). Encoding happens here, before any I/O, into
    /// a per-thread <see cref="EncodeBuffer"/>; the argument array is rented. Dispose once the command is created.
    /// </summary>
    private readonly struct AppendArgs : IDisposable
    {
        private const int Fixed = 6;

        private readonly RedisKeyOrValue[] _args;
        private readonly int _count;
        private readonly EncodeBuffer _buffer;

        private AppendArgs(string command, RedisKeyOrValue[] args, int count, EncodeBuffer buffer)
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

        public static AppendArgs Create(RedisChatMemory memory, RedisKey key, ChatMemoryMessage[] messages, bool byText)
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
                args[3] = memory._window;
                args[4] = memory._ttlMilliseconds;
                args[5] = memory._rule;
                var start = 0;
                for (var i = 0; i < messages.Length; i++)
                {
                    var markerEnd = ends[2 * i];
                    var elementEnd = ends[(2 * i) + 1];
                    args[Fixed + (2 * i)] = markerEnd == start ? RedisValue.EmptyString : (RedisValue)buffer.Slice(start, markerEnd - start);
                    args[Fixed + (2 * i) + 1] = (RedisValue)buffer.Slice(markerEnd, elementEnd - markerEnd);
                    start = elementEnd;
                }

                return new AppendArgs(byText ? "EVAL" : "EVALSHA", args, count, buffer);
            }
            catch
            {
                ArrayPool<RedisKeyOrValue>.Shared.Return(args, clearArray: true);
                buffer.Dispose();
                throw;
            }
        }

        /// <summary>The script's ARGV as <see cref="RedisValue"/>s that own their bytes, for the classic
        /// <c>ScriptEvaluate</c>, which keeps them until the command is written.</summary>
        public RedisValue[] ToScriptValues()
        {
            var values = new RedisValue[_count - 3];
            for (var i = 3; i < _count; i++)
            {
                var value = _args[i].Value;
                values[i - 3] = i < Fixed || value.IsNullOrEmpty ? value : (RedisValue)((ReadOnlyMemory<byte>)value).ToArray();
            }

            return values;
        }

        public void Dispose()
        {
            // Cleared so that the pool holds no keys or slices of the buffer.
            ArrayPool<RedisKeyOrValue>.Shared.Return(_args, clearArray: true);
            _buffer.Dispose();
        }
    }

    private static readonly RedisKeyOrValue One = (RedisValue)1;

    /// <summary><c>LRANGE key 0 -1</c>'s arguments, in a per-thread array (taken out of its slot while in use).</summary>
    private readonly struct LRangeArgs
    {
        private static readonly RedisKeyOrValue Start = (RedisValue)0;
        private static readonly RedisKeyOrValue Stop = (RedisValue)(-1);

        [ThreadStatic]
        private static RedisKeyOrValue[]? t_cached;

        private readonly RedisKeyOrValue[] _args;

        private LRangeArgs(RedisKeyOrValue[] args) => _args = args;

        public ReadOnlyMemory<RedisKeyOrValue> Memory => _args;

        public static LRangeArgs Rent(RedisKey key)
        {
            var args = t_cached ?? new RedisKeyOrValue[] { default, Start, Stop };
            t_cached = null;
            args[0] = key;
            return new LRangeArgs(args);
        }

        public void Return()
        {
            _args[0] = default;
            t_cached = _args;
        }
    }
}

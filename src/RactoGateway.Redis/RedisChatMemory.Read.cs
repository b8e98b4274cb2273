using System.Runtime.CompilerServices;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Diagnostics;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// The read path: LRANGE key 0 -1, decoded from StackExchange.Redis's pooled reply buffer one span per element (no
// RedisValue or byte[] per element) on the pooled transport, from ListRange's values on the plain one (see
// ChatConnection). Corrupt elements are skipped, counted and logged.
public sealed partial class RedisChatMemory
{
    // Pooled: the public method awaiting it and the telemetry wrapper already have a task each.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<List<ChatMemoryMessage>> ReadAsync(string conversationId, RedisKey key, CancellationToken cancellationToken) =>
        Counted(await ExecuteAsync<ReadCommand, Decoded>("get_history", conversationId, new(key), cancellationToken).ConfigureAwait(false));

    private List<ChatMemoryMessage> Read(string conversationId, RedisKey key) =>
        Counted(Execute<ReadCommand, Decoded>("get_history", conversationId, new(key)));

    private List<ChatMemoryMessage> Counted(Decoded read)
    {
        ChatMemoryInstruments.RecordRead(read.Messages.Count, read.Skipped);
        if (read.Skipped > 0)
        {
            CorruptElementsSkipped(_logger, read.Skipped, read.Elements);
        }

        return read.Messages;
    }

    /// <summary>A list as read: its valid messages, and how many of its elements were skipped as corrupt.</summary>
    private readonly record struct Decoded(List<ChatMemoryMessage> Messages, int Skipped, int Elements);

    /// <summary><c>LRANGE key 0 -1</c>, decoded.</summary>
    private readonly struct ReadCommand(RedisKey key) : IChatCommand<Decoded>
    {
        private static readonly RedisKeyOrValue Start = (RedisValue)0;
        private static readonly RedisKeyOrValue Stop = (RedisValue)(-1);

        public RedisKey Key => key;

        public ReplicaWait Replicas => ReplicaWait.None;

        public bool Pooled => true;

        public PooledRequest Render(bool byText)
        {
            var request = PooledRequest.Rent("LRANGE", 3, null, out var args);
            args[0] = key;
            args[1] = Start;
            args[2] = Stop;
            return request;
        }

        public Decoded Read(RespResult reply)
        {
            using (reply)
            {
                var messages = MessageCodec.DecodeAll(reply, out var skipped, out var elements);
                return new(messages, skipped, elements);
            }
        }

        public async Task<Decoded> SendAsync(IDatabaseAsync database) => Decode(await database.ListRangeAsync(key).ConfigureAwait(false));

        public Decoded Send(IDatabase database) => Decode(database.ListRange(key));

        private static Decoded Decode(RedisValue[] elements) => new(MessageCodec.DecodeAll(elements, out var skipped), skipped, elements.Length);
    }
}

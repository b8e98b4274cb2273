using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Diagnostics;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// The read path: LRANGE key 0 -1 through ExecuteRespAsync, decoded from StackExchange.Redis's pooled reply buffer one
// span per element (no RedisValue or byte[] per element); the classic ListRangeAsync on a cluster (see
// ChatConnection.UsesRespReplies). Corrupt elements are skipped, counted and logged.
public sealed partial class RedisChatMemory
{
    // Pooled: the public method awaiting it and the telemetry wrapper already have a task each.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<List<ChatMemoryMessage>> ReadAsync(string conversationId, RedisKey key, CancellationToken cancellationToken)
    {
        var connection = _connections.Next();
        if (!connection.UsesRespReplies)
        {
            return Decode(await RunAsync("get_history", conversationId, (connection.Database, key), static s => s.Item1.ListRangeAsync(s.Item2), cancellationToken)
                .ConfigureAwait(false));
        }

        using var reply = await ChatMemoryInstruments.RunAsync("get_history", _config.KeyPrefix, TracedId(conversationId), (connection.Pipeline, key), static s => SendReadAsync(s.Item1, s.Item2), cancellationToken)
            .ConfigureAwait(false);
        return Decode(reply);
    }

    private List<ChatMemoryMessage> Read(string conversationId, RedisKey key)
    {
        var connection = _connections.Next();
        if (!connection.UsesRespReplies)
        {
            return Decode(Run("get_history", conversationId, (connection.Database, key), static s => s.Item1.ListRange(s.Item2)));
        }

        using var reply = Run("get_history", conversationId, (connection.Database, key), static s => SendRead(s.Item1, s.Item2));
        return Decode(reply);
    }

    private static ValueTask<RespResult> SendReadAsync(AutoPipeline pipeline, RedisKey key)
    {
        var args = LRangeArgs.Rent(key);
        try
        {
            return pipeline.ExecuteRespAsync("LRANGE", args.Memory);
        }
        finally
        {
            args.Return();
        }
    }

    private static RespResult SendRead(IDatabase database, RedisKey key)
    {
        var args = LRangeArgs.Rent(key);
        try
        {
            return database.ExecuteResp("LRANGE", args.Memory);
        }
        finally
        {
            args.Return();
        }
    }

    private List<ChatMemoryMessage> Decode(RedisValue[] elements) => Counted(MessageCodec.DecodeAll(elements, out var skipped), skipped, elements.Length);

    private List<ChatMemoryMessage> Decode(RespResult reply) => Counted(MessageCodec.DecodeAll(reply, out var skipped, out var elements), skipped, elements);

    private List<ChatMemoryMessage> Counted(List<ChatMemoryMessage> messages, int skipped, int elements)
    {
        ChatMemoryInstruments.RecordRead(messages.Count, skipped);
        if (skipped > 0)
        {
            CorruptElementsSkipped(_logger, skipped, elements);
        }

        return messages;
    }

    // The key is left out on purpose: it holds the conversation id, which telemetry only carries when opted in.
    [LoggerMessage(1, LogLevel.Warning, "Skipped {SkippedCount} corrupt element(s) of {ElementCount} in a conversation list", EventName = "CorruptElementsSkipped")]
    private static partial void CorruptElementsSkipped(ILogger logger, int skippedCount, int elementCount);

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
            var args = t_cached ?? [default, Start, Stop];
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

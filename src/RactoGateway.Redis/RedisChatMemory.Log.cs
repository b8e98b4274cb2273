using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RactoGateway.Redis;

public sealed partial class RedisChatMemory
{
    private static partial class Log
    {
        // The key is left out on purpose: it holds the conversation id, which telemetry only carries when opted in.
        [LoggerMessage(1, LogLevel.Warning, "Skipped {SkippedCount} corrupt element(s) of {ElementCount} in a conversation list", EventName = "CorruptElementsSkipped")]
        public static partial void CorruptElementsSkipped(ILogger logger, int skippedCount, int elementCount);

        [LoggerMessage(2, LogLevel.Warning, "Lost the connection to Redis at {Endpoint} ({FailureType})", EventName = "ConnectionFailed")]
        public static partial void ConnectionFailed(ILogger logger, string endpoint, ConnectionFailureType failureType, Exception? exception);

        [LoggerMessage(3, LogLevel.Information, "Connection to Redis at {Endpoint} restored", EventName = "ConnectionRestored")]
        public static partial void ConnectionRestored(ILogger logger, string endpoint);

        [LoggerMessage(4, LogLevel.Warning, "ChatMemoryConfig.Connections is {Connections}, but a multiplexer was passed in: every call uses that one multiplexer (Connections applies only when the memory connects from a URL)", EventName = "ConnectionsIgnored")]
        public static partial void ConnectionsIgnored(ILogger logger, int connections);
    }
}

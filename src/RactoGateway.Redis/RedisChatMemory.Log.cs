using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RactoGateway.Redis;

public sealed partial class RedisChatMemory
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Skipped {SkippedCount} corrupt element(s) of {ElementCount} in Redis list {Key}", EventName = "CorruptElementsSkipped")]
        public static partial void CorruptElementsSkipped(ILogger logger, int skippedCount, int elementCount, string key);

        [LoggerMessage(2, LogLevel.Warning, "Lost the connection to Redis at {Endpoint} ({FailureType})", EventName = "ConnectionFailed")]
        public static partial void ConnectionFailed(ILogger logger, string endpoint, ConnectionFailureType failureType, Exception? exception);

        [LoggerMessage(3, LogLevel.Information, "Connection to Redis at {Endpoint} restored", EventName = "ConnectionRestored")]
        public static partial void ConnectionRestored(ILogger logger, string endpoint);
    }
}

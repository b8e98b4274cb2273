using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis;

public sealed partial class RedisChatMemory
{
    private static partial class Log
    {
        // The key is left out on purpose: it holds the conversation id, which telemetry only carries when opted in.
        [LoggerMessage(1, LogLevel.Warning, "Skipped {SkippedCount} corrupt element(s) of {ElementCount} in a conversation list", EventName = "CorruptElementsSkipped")]
        public static partial void CorruptElementsSkipped(ILogger logger, int skippedCount, int elementCount);
    }
}

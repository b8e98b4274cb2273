using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis;

// What the memory logs. Event ids are unique across the library (docs/architecture.md, "Log events").
public sealed partial class RedisChatMemory
{
    // The key is left out on purpose: it holds the conversation id, which telemetry only carries when opted in.
    [LoggerMessage(1, LogLevel.Warning, "Skipped {SkippedCount} corrupt element(s) of {ElementCount} in a conversation list", EventName = "CorruptElementsSkipped")]
    private static partial void CorruptElementsSkipped(ILogger logger, int skippedCount, int elementCount);

    [LoggerMessage(2, LogLevel.Warning, "Dropped {DroppedCount} pending message(s) past MaxPendingMessages ({MaxPending}) before they were summarized (at most one such warning every 10 s): is a summarizer running?", EventName = "PendingMessagesDropped")]
    private static partial void PendingDropped(ILogger logger, long droppedCount, int maxPending);
}

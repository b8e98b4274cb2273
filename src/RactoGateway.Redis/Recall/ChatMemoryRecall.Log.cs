using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis;

// Event ids are unique across RactoGateway.Redis: the table is in docs/architecture.md ("Log events").
public sealed partial class ChatMemoryRecall
{
    [LoggerMessage(20, LogLevel.Warning, "Recall is not indexing: {Reason}", EventName = "RecallUnsupported")]
    private static partial void RecallUnsupported(ILogger logger, string reason);
}

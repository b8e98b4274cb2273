using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis;

// Event ids are unique across RactoGateway.Redis: the table is in docs/architecture.md ("Log events").
public sealed partial class ChatMemoryChatClient
{
    [LoggerMessage(21, LogLevel.Warning, "Chats go on without recalled context: {Reason}", EventName = "RecallSkipped")]
    private static partial void RecallSkipped(ILogger logger, string reason);
}

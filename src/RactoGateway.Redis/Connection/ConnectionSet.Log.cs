using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis.Connection;

// Logged with the memory's logger: event ids are unique across the library (docs/architecture.md, "Log events").
internal sealed partial class ConnectionSet
{
    [LoggerMessage(4, LogLevel.Warning, "ChatMemoryConfig.Connections is {Connections}, but a multiplexer was passed in: every call uses that one multiplexer (Connections applies only when the memory opens its own connections)", EventName = "ConnectionsIgnored")]
    private static partial void ConnectionsIgnored(ILogger logger, int connections);
}

using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

// Logged with the memory's logger: event ids are unique across the library (docs/architecture.md, "Log events").
internal sealed partial class ConnectionEventLog
{
    [LoggerMessage(5, LogLevel.Warning, "Lost the connection to Redis at {Endpoint} ({FailureType})", EventName = "ConnectionFailed")]
    private static partial void ConnectionFailed(ILogger logger, string endpoint, ConnectionFailureType failureType, Exception? exception);

    [LoggerMessage(3, LogLevel.Information, "Connection to Redis at {Endpoint} restored", EventName = "ConnectionRestored")]
    private static partial void ConnectionRestored(ILogger logger, string endpoint);
}

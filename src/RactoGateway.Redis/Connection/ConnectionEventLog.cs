using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// Logs the failures and recoveries of a connection the memory opened itself. A multiplexer passed in belongs to the
/// application, which logs its events once; subscribing there too would log each failure once per memory.
/// </summary>
internal sealed partial class ConnectionEventLog : IDisposable
{
    private readonly IConnectionMultiplexer _connection;
    private readonly ILogger _logger;

    public ConnectionEventLog(IConnectionMultiplexer connection, ILogger logger)
    {
        _connection = connection;
        _logger = logger;
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += OnConnectionRestored;
    }

    public void Dispose()
    {
        _connection.ConnectionFailed -= OnConnectionFailed;
        _connection.ConnectionRestored -= OnConnectionRestored;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        ConnectionFailed(_logger, e.EndPoint is null ? "?" : RedisEndpoint.Describe(e.EndPoint), e.FailureType, e.Exception);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) =>
        ConnectionRestored(_logger, e.EndPoint is null ? "?" : RedisEndpoint.Describe(e.EndPoint));
}

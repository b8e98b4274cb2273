using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>A socket finalized while StackExchange.Redis was still connecting is reported as the documented
/// RedisConnectionException (seen under load in UrlSecurityPropertyTests), not as a disposed memory.</summary>
public class ConnectionErrorTests
{
    [Fact]
    public void A_finalized_connection_becomes_a_RedisConnectionException_and_other_errors_stay_as_they_are()
    {
        var finalized = new ObjectDisposedException("Connection is being finalized");
        var disposedMemory = new ObjectDisposedException(nameof(RedisChatMemory));
        var timeout = new TimeoutException();

        var documented = Assert.IsType<RedisConnectionException>(ChatConnection.AsDocumented(finalized));

        Assert.Equal(ConnectionFailureType.SocketClosed, documented.FailureType);
        Assert.Same(finalized, documented.InnerException);
        Assert.Same(disposedMemory, ChatConnection.AsDocumented(disposedMemory));
        Assert.Same(timeout, ChatConnection.AsDocumented(timeout));
    }
}

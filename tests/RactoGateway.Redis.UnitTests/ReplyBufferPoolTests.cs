using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>ChatMemoryReplyBufferPool: a lease returns its array once, however often it is disposed, and replies held in
/// its arrays reach every concurrent reader intact on a multiplexer the application configured itself.</summary>
public class ReplyBufferPoolTests
{
    [Fact]
    public void A_lease_disposed_twice_returns_its_array_once()
    {
        var pool = ChatMemoryReplyBufferPool.Instance;
        var first = pool.Rent(20_000);
        Assert.True(first.Memory.Length >= 20_000);
        first.Dispose();
        first.Dispose(); // a second return would hand the same array to the next two renters
        Assert.Throws<ObjectDisposedException>(() => first.Memory);

        using var a = pool.Rent(20_000);
        using var b = pool.Rent(20_000);
        Assert.False(a.Memory.Span.Overlaps(b.Memory.Span));
    }
}

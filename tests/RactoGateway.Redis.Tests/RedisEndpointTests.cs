using System.Net;
using RactoGateway.Redis.Connection;

namespace RactoGateway.Redis.Tests;

/// <summary>URLs and configuration strings become StackExchange.Redis options; passwords never show.</summary>
public class RedisEndpointTests
{
    [Fact]
    public void Memory_ToString_and_errors_never_show_the_password()
    {
        using var memory = new RedisChatMemory($"redis://alice:topsecret@127.0.0.1:{Loopback.FreePort()}");
        var malformed = Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory("redis://alice:topsecret@host:1/notadb"));

        Assert.DoesNotContain("topsecret", memory.ToString());
        Assert.Contains("127.0.0.1:", memory.ToString());
        Assert.DoesNotContain("topsecret", malformed.Message);
    }
}

using System.Net;
using RactoGateway.Redis.Connection;

namespace RactoGateway.Redis.Tests;

/// <summary>URLs and configuration strings become StackExchange.Redis options; passwords never show.</summary>
public class RedisEndpointTests
{
    [Fact]
    public void Full_redis_url_sets_user_password_endpoint_and_database()
    {
        var options = RedisEndpoint.Parse("redis://alice:p%40ss@cache.local:6380/3");

        Assert.Equal("alice", options.User);
        Assert.Equal("p@ss", options.Password);
        Assert.Equal(3, options.DefaultDatabase);
        Assert.False(options.Ssl);
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal("cache.local:6380", RedisEndpoint.Describe(options));
    }

    [Fact]
    public void Rediss_turns_on_tls_and_the_default_port_is_6379()
    {
        var options = RedisEndpoint.Parse("rediss://cache.local");

        Assert.True(options.Ssl);
        Assert.Equal("cache.local", options.SslHost);
        Assert.Equal("cache.local:6379", RedisEndpoint.Describe(options));
    }

    [Fact]
    public void Password_only_and_ipv6_forms_are_understood()
    {
        var passwordOnly = RedisEndpoint.Parse("redis://:secret@127.0.0.1:7000");
        var bare = RedisEndpoint.Parse("redis://secret@127.0.0.1");
        var ipv6 = RedisEndpoint.Parse("redis://[::1]:6390/0");

        Assert.Null(passwordOnly.User);
        Assert.Equal("secret", passwordOnly.Password);
        Assert.Equal("secret", bare.Password);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 6390), Assert.Single(ipv6.EndPoints));
    }

    [Fact]
    public void Plain_configuration_strings_and_seed_lists_pass_through()
    {
        var options = RedisEndpoint.Parse("127.0.0.1:7000,127.0.0.1:7001,password=pw");

        Assert.Equal("127.0.0.1:7000,127.0.0.1:7001", RedisEndpoint.Describe(options));
        Assert.Equal("pw", options.Password);
        Assert.False(options.AbortOnConnectFail);
        Assert.True(RedisEndpoint.Parse("127.0.0.1:7000,abortConnect=true").AbortOnConnectFail);
    }

    [Theory]
    [InlineData("redis://127.0.0.1:7000")]
    [InlineData("127.0.0.1:7000,127.0.0.1:7001")]
    [InlineData("127.0.0.1:7000,abortConnect=true")]
    public void Reconnects_are_tried_on_every_heartbeat_not_with_exponential_backoff(string url)
    {
        // Exponential backoff made the first success after a 5 s outage take up to 2 s (docs/reliability.md, Outage).
        Assert.IsType<StackExchange.Redis.LinearRetry>(RedisEndpoint.Parse(url).ReconnectRetryPolicy);
    }

    [Theory]
    [InlineData("redis://alice:topsecret@host:1/0", "redis://alice:***@host:1/0")]
    [InlineData("redis://topsecret@host", "redis://***@host")]
    [InlineData("host:1,password=topsecret", "(configuration string with a password)")]
    [InlineData("redis://host:1", "redis://host:1")]
    public void Redact_hides_passwords(string url, string expected) =>
        Assert.Equal(expected, RedisEndpoint.Redact(url));

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

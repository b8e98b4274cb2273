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
    [InlineData("host:1,password=topsecret", "host:1,password=***")]
    [InlineData("host:1, Password = top,connectTimeout=10", "host:1,Password=***,connectTimeout=10")]
    [InlineData("host:1,pasword=topsecret", "host:1,pasword=***")]
    [InlineData("http://:topsecret@127.0.0.1:1", "http://:***@127.0.0.1:1")]
    [InlineData("redis:/:topsecret@127.0.0.1:1", "redis:/:***@127.0.0.1:1")]
    [InlineData("redis//u:topsecret@127.0.0.1:1", "redis//u:***@127.0.0.1:1")]
    [InlineData("redis:topsecret@h", "redis:***@h")]
    [InlineData("redis://:top@secret@h:1/0", "redis://:***@h:1/0")]
    [InlineData("redis://h:1@:topsecret", "redis://h:***@…")]
    [InlineData("redis://:pw@h:1?password=topsecret", "redis://:***@…")]
    [InlineData("redis://host:1", "redis://host:1")]
    public void Redact_hides_passwords(string url, string expected) =>
        Assert.Equal(expected, RedisEndpoint.Redact(url));

    [Theory]
    [InlineData("http://:hunter2@127.0.0.1:6379", "'http://' is not a Redis URL scheme: use redis:// or rediss://")]
    [InlineData("tcp://:hunter2@127.0.0.1:6379", "use redis:// or rediss://")]
    [InlineData("redis+tls://:hunter2@127.0.0.1:6379", "use redis:// or rediss://")]
    [InlineData("redis:/:hunter2@127.0.0.1:6379", "use redis:// or rediss://")]
    [InlineData("redis//:hunter2@127.0.0.1:6379", "use redis:// or rediss://")]
    [InlineData("redis:hunter2@127.0.0.1:6379", "use redis:// or rediss://")]
    [InlineData("REDIS:\\\\:hunter2@127.0.0.1:6379", "use redis:// or rediss://")]
    [InlineData(":hunter2@127.0.0.1:6379", "Not a Redis URL or StackExchange.Redis configuration string")]
    [InlineData("127.0.0.1:6379,hunter2@127.0.0.1", "Not a Redis URL or StackExchange.Redis configuration string")]
    [InlineData("redis://:hunter2@127.0.0.1:6379?db=0", "no ?query or #fragment")]
    [InlineData("redis://:hunter2@127.0.0.1:6379#x", "no ?query or #fragment")]
    [InlineData("redis://alice;hunter2:@127.0.0.1:6379", "password after the user name is empty")]
    [InlineData("redis://hunter2:@127.0.0.1:6379", "password after the user name is empty: redis://***@127.0.0.1:6379")]
    [InlineData("redis://:hun@ter2@127.0.0.1:6379", "Malformed Redis URL")]
    [InlineData("127.0.0.1:6379,pasword=hunter2", "option 'pasword' is unknown")]
    [InlineData("127.0.0.1:6379,connectTimeout=hunter2", "option 'connectTimeout' is unknown or has a value it cannot read")]
    public void Mistyped_urls_are_refused_before_any_network_io_without_echoing_the_password(string url, string expected)
    {
        // Regression (issue 9, defect 5): these were taken as StackExchange.Redis configuration strings whose "host" was
        // the whole text, password included, quoted seconds later in a RedisConnectionException.
        var parse = Assert.ThrowsAny<ArgumentException>(() => RedisEndpoint.Parse(url));
        var ctor = Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory(url));

        Assert.Equal("url", parse.ParamName);
        Assert.Equal("url", ctor.ParamName);
        Assert.Contains(expected, parse.Message);
        Assert.DoesNotContain("hunter2", parse.ToString() + ctor.ToString());
        Assert.DoesNotContain("ter2", parse.Message);
    }

    [Theory]
    [InlineData("redis:6379", "redis:6379")]
    [InlineData("my_redis:7000,my_redis_2:7001", "my_redis:7000,my_redis_2:7001")]
    [InlineData("  REDIS://:p%40ss@LOCALHOST:7000/2  ", "localhost:7000")]
    [InlineData("rediss:6380,ssl=true", "rediss:6380")]
    [InlineData("redis://[0:0:0:0:0:0:0:1]:7000", "[::1]:7000")]
    public void Host_names_that_look_like_schemes_and_odd_but_valid_forms_still_parse(string url, string endpoints) =>
        Assert.Equal(endpoints, RedisEndpoint.Describe(RedisEndpoint.Parse(url)));
}

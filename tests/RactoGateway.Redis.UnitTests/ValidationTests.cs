namespace RactoGateway.Redis.Tests;

/// <summary>Bad input throws an ArgumentException naming the parameter, before any network I/O.</summary>
public class ValidationTests
{
    [Theory]
    [InlineData("")]
    [InlineData("redis://")]
    [InlineData("redis://host:6379/notanumber")]
    [InlineData("rediss://:@/")]
    public void Malformed_url_is_rejected_naming_url(string url) =>
        Assert.Equal("url", Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory(url)).ParamName);
}

using Microsoft.Extensions.DependencyInjection;

namespace RactoGateway.Redis.Tests;

/// <summary>services.AddRedisChatMemory: what registration itself refuses, before any service is resolved (the binding,
/// validation and multiplexer reuse on a server are in the integration tier's DependencyInjectionTests).</summary>
public class DependencyInjectionTests
{
    [Fact]
    public void A_malformed_url_is_rejected_at_registration() =>
        Assert.Equal("url", Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddRedisChatMemory("redis://h:1/x")).ParamName);

    [Fact]
    public void A_second_registration_without_a_key_is_refused_rather_than_dropped()
    {
        var services = new ServiceCollection().AddRedisChatMemory("redis://127.0.0.1:1");

        var error = Assert.Throws<InvalidOperationException>(() => services.AddRedisChatMemory("redis://127.0.0.1:2"));

        Assert.Contains("AddKeyedRedisChatMemory", error.Message);
    }
}

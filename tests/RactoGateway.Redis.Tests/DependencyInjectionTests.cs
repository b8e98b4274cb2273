using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>services.AddRedisChatMemory: binds the ChatMemory section, validates on start, reuses a registered multiplexer.</summary>
public class DependencyInjectionTests
{
    [Theory, AllServers]
    public async Task Binds_the_ChatMemory_section_and_reuses_the_registered_multiplexer(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ChatMemory:MaxTurns"] = "2",
                ["ChatMemory:Ttl"] = "00:30:00",
                ["ChatMemory:KeyPrefix"] = prefix,
                ["ChatMemory:MaxMessageBytes"] = "4096",
            }).Build())
            .AddSingleton<IConnectionMultiplexer>(connection)
            .AddRedisChatMemory();

        await using (var provider = services.BuildServiceProvider())
        {
            var memory = provider.GetRequiredService<RedisChatMemory>();
            Assert.Same(memory, provider.GetRequiredService<RedisChatMemory>());
            Assert.Equal(2, memory.Config.MaxTurns);
            Assert.Equal(TimeSpan.FromMinutes(30), memory.Config.Ttl);
            Assert.Equal(prefix, memory.Config.KeyPrefix);
            Assert.Equal(4096, memory.Config.MaxMessageBytes);

            for (var i = 0; i < 6; i++)
            {
                await memory.AppendAsync("di", "user", $"m{i}");
            }

            Assert.Equal(4, await connection.GetDatabase().ListLengthAsync(prefix + ":di"));
        }

        // The container disposed the memory, but the multiplexer was the application's: it stays open.
        Assert.True(connection.IsConnected);
        Assert.Equal(4, await connection.GetDatabase().ListLengthAsync(prefix + ":di"));
    }

    [Theory, AllServers]
    public async Task The_configure_callback_runs_after_binding_and_a_url_opens_an_owned_connection(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ChatMemory:MaxTurns"] = "7",
            }).Build())
            .AddRedisChatMemory($"redis://127.0.0.1:{server.Port}", c => c.KeyPrefix = prefix);

        await using var provider = services.BuildServiceProvider();
        var memory = provider.GetRequiredService<RedisChatMemory>();
        await memory.AppendAsync("x", "user", "hi");

        Assert.Equal(7, memory.Config.MaxTurns);
        Assert.Equal(prefix, memory.Config.KeyPrefix);
        Assert.Equal([new ChatMemoryMessage("user", "hi")], await memory.GetHistoryAsync("x"));
    }

    [Fact]
    public async Task Invalid_config_fails_the_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ChatMemory:MaxTurns"] = "0" });
        builder.Services.AddRedisChatMemory($"127.0.0.1:{Loopback.FreePort()}");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ChatMemoryConfig.MaxTurns", error.Message);
    }

    [Fact]
    public void Without_a_multiplexer_or_url_resolution_explains_what_is_missing()
    {
        using var provider = new ServiceCollection().AddRedisChatMemory().BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<RedisChatMemory>());

        Assert.Contains("IConnectionMultiplexer", error.Message);
    }

    [Theory, AllServers]
    public async Task Keyed_memories_have_their_own_url_section_and_validation_and_IChatMemory_is_the_same_object(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var (prefixA, prefixB) = (TestServers.UniquePrefix(), TestServers.UniquePrefix());
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ChatMemory:MaxTurns"] = "3",
                ["ChatMemory:support:MaxTurns"] = "1",
            }).Build())
            .AddSingleton<IConnectionMultiplexer>(connection)
            .AddRedisChatMemory(c => c.KeyPrefix = prefixA)
            .AddKeyedRedisChatMemory("support", configure: c => c.KeyPrefix = prefixB);

        await using var provider = services.BuildServiceProvider();
        var main = provider.GetRequiredService<RedisChatMemory>();
        var support = provider.GetRequiredKeyedService<RedisChatMemory>("support");

        Assert.Same(main, provider.GetRequiredService<IChatMemory>());
        Assert.Same(support, provider.GetRequiredKeyedService<IChatMemory>("support"));
        Assert.NotSame(main, support);
        Assert.Equal((3, prefixA), (main.Config.MaxTurns, main.Config.KeyPrefix));
        Assert.Equal((1, prefixB), (support.Config.MaxTurns, support.Config.KeyPrefix));
        for (var i = 0; i < 8; i++)
        {
            await main.AppendAsync("k", "user", $"m{i}");
            await support.AppendAsync("k", "user", $"m{i}");
        }

        Assert.Equal(6, await main.CountAsync("k"));
        Assert.Equal(2, await support.CountAsync("k"));
        Assert.Throws<InvalidOperationException>(() => services.AddKeyedRedisChatMemory("support", "redis://127.0.0.1:1"));
    }

    [Fact]
    public async Task An_invalid_keyed_config_fails_the_host_at_start_and_names_the_setting()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ChatMemory:b:MaxTurns"] = "0" });
        builder.Services.AddRedisChatMemory($"127.0.0.1:{Loopback.FreePort()}").AddKeyedRedisChatMemory("b", $"127.0.0.1:{Loopback.FreePort()}");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ChatMemoryConfig.MaxTurns", error.Message);
        Assert.Equal("b", error.OptionsName);
    }
}

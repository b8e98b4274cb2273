using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>ChatMemoryConfig.Connections: N multiplexers opened from a URL, used in turn, all closed on dispose; a
/// multiplexer passed in is used alone.</summary>
public class ConnectionsTests
{
    [Theory, AllServers]
    public async Task Calls_go_round_robin_over_every_connection_and_all_work(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName, c => c.Connections = 3);
        var connections = bed.Memory.Connections.Multiplexers;
        Assert.Equal(3, connections.Count);
        Assert.Equal(3, connections.Distinct().Count());
        var before = connections.Select(c => c.OperationCount).ToArray();

        for (var i = 0; i < 30; i++)
        {
            var id = "c" + (i % 7);
            await bed.Memory.AppendAsync(id, "user", "m" + i);
            bed.Memory.Append(id, "assistant", "a" + i);
            Assert.NotEmpty(await bed.Memory.GetHistoryAsync(id));
            Assert.NotEmpty(bed.Memory.GetHistory(id));
        }

        // 120 calls over 3 multiplexers in turn: each carried its share (at least 40 operations of ours).
        for (var i = 0; i < connections.Count; i++)
        {
            Assert.True(connections[i].OperationCount - before[i] >= 40, $"connection {i}: {connections[i].OperationCount - before[i]} operations");
        }

        var all = 0;
        for (var i = 0; i < 7; i++)
        {
            all += (await bed.Memory.GetHistoryAsync("c" + i)).Count;
        }

        Assert.Equal(60, all);
        Assert.Contains("connections=3", bed.Memory.ToString());
    }

    [Theory, AllServers]
    public async Task Disposing_closes_every_owned_connection(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), Connections = 2 });
        await memory.AppendAsync("c", "user", "hi");
        var connections = memory.Connections.Multiplexers;
        Assert.All(connections, c => Assert.True(c.IsConnected));

        await memory.DisposeAsync();

        Assert.All(connections, c => Assert.False(c.IsConnected));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => memory.GetHistoryAsync("c"));
    }

    [Fact]
    public async Task A_multiplexer_passed_in_is_used_alone_with_a_warning_and_stays_open()
    {
        var server = await TestServers.GetAsync("redis");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var logger = new ListLogger<RedisChatMemory>();
        var memory = new RedisChatMemory(connection, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), Connections = 4 }, logger);

        await memory.AppendAsync("c", "user", "hi");

        Assert.Same(connection, Assert.Single(memory.Connections.Multiplexers));
        var warning = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("ConnectionsIgnored", warning.Id.Name);
        await memory.DisposeAsync();
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task Dependency_injection_binds_connections_and_validates_them()
    {
        var server = await TestServers.GetAsync("redis");
        var services = new ServiceCollection();
        services.AddRedisChatMemory(server.ConnectionString, c =>
        {
            c.KeyPrefix = TestServers.UniquePrefix();
            c.Connections = 2;
        });
        await using (var provider = services.BuildServiceProvider())
        {
            var memory = provider.GetRequiredService<RedisChatMemory>();
            Assert.Equal(2, memory.Connections.Multiplexers.Count);
            Assert.Equal(2, memory.Config.Connections);
        }

        var invalid = new ServiceCollection();
        invalid.AddRedisChatMemory(server.ConnectionString, c => c.Connections = 0);
        await using var bad = invalid.BuildServiceProvider();
        var error = Assert.ThrowsAny<Exception>(() => bad.GetRequiredService<RedisChatMemory>());
        Assert.Contains("Connections", error.Message);
    }
}

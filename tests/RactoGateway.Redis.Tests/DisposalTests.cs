using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>A memory closes the connection it opened, never one it was given, and refuses calls once disposed.</summary>
public class DisposalTests
{
    [Theory, AllServers]
    public async Task A_given_multiplexer_stays_open_after_dispose(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var memory = new RedisChatMemory(connection, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await memory.AppendAsync("c", "user", "hi");

        await memory.DisposeAsync();
        memory.Dispose();

        Assert.True(connection.IsConnected);
        await connection.GetDatabase().PingAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => memory.GetHistoryAsync("c"));
        Assert.Throws<ObjectDisposedException>(() => memory.Append("c", "user", "again"));
    }

    [Theory, AllServers]
    public async Task An_owned_multiplexer_is_closed_on_dispose(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await memory.AppendAsync("c", "user", "hi");
        var clientsBefore = await ClientCountAsync(server);

        memory.Dispose();

        Assert.True(await ClientCountAsync(server) < clientsBefore);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => memory.CountAsync("c"));
    }

    private static async Task<int> ClientCountAsync(ITestServer server)
    {
        await using var probe = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        // On a cluster the memory holds a connection to every node: count clients on all of them.
        var total = 0;
        foreach (var node in probe.GetServers())
        {
            total += (await node.ClientListAsync()).Length;
        }

        return total;
    }
}

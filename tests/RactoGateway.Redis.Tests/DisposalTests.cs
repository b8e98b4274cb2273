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
        // Count only this memory's own connections, by client name: other tests share the server (and on the cluster
        // six nodes), so a total client count moves under our feet.
        var server = await TestServers.GetAsync(serverName);
        var name = "disposal-" + Guid.NewGuid().ToString("N");
        var memory = new RedisChatMemory(server.ConnectionString + ",name=" + name, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await memory.AppendAsync("c", "user", "hi");
        Assert.True(await ClientCountAsync(server, name) > 0);

        memory.Dispose();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await ClientCountAsync(server, name) > 0 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, await ClientCountAsync(server, name));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => memory.CountAsync("c"));
    }

    private static async Task<int> ClientCountAsync(ITestServer server, string name)
    {
        await using var probe = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString + ",allowAdmin=true");
        var total = 0;
        foreach (var node in probe.GetServers())
        {
            total += (await node.ClientListAsync()).Count(c => c.Name == name);
        }

        return total;
    }
}

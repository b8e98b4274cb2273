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
        var name = "owned-" + Guid.NewGuid().ToString("N");
        var memory = new RedisChatMemory(server.ConnectionString + ",name=" + name, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await memory.AppendAsync("c", "user", "hi");
        Assert.True(await ClientConnectedAsync(server, name));

        memory.Dispose();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ClientConnectedAsync(server, name) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.False(await ClientConnectedAsync(server, name));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => memory.CountAsync("c"));
    }

    private static async Task<bool> ClientConnectedAsync(ITestServer server, string clientName)
    {
        await using var probe = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        var clients = await probe.GetServers()[0].ClientListAsync();
        return clients.Any(c => c.Name == clientName);
    }
}

using StackExchange.Redis;

namespace RactoGateway.Redis.Tests.Servers;

/// <summary>
/// A redis-server where the memory connects as the least-privilege ACL user of the README ("Least privilege"), allowed
/// only keys <c>~test:*</c> (every test prefix starts with <c>test:</c>) and only the commands the library uses. Tests
/// inspect Redis through <see cref="ITestServer.AdminConnectionString"/> (the unrestricted default user).
/// </summary>
public sealed class AclRedisServer : ITestServer
{
    private const string User = "chatmem";
    private const string Password = "least-privilege-pw";
    private readonly RedisServerProcess _server;

    private AclRedisServer(RedisServerProcess server) => _server = server;

    /// <inheritdoc />
    public string Name => "acl";

    /// <inheritdoc />
    public int Port => _server.Port;

    /// <inheritdoc />
    public string ConnectionString => $"127.0.0.1:{Port},user={User},password={Password},connectTimeout=2000,syncTimeout=3000,asyncTimeout=3000";

    /// <inheritdoc />
    public string AdminConnectionString => ((ITestServer)_server).ConnectionString;

    /// <summary>Starts a redis-server and creates the least-privilege user.</summary>
    public static async Task<AclRedisServer> StartNewAsync()
    {
        var server = new AclRedisServer(await RedisServerProcess.StartNewAsync());
        await server.CreateUserAsync();
        return server;
    }

    /// <inheritdoc />
    public async Task StartAsync()
    {
        await _server.StartAsync();
        await CreateUserAsync(); // ACL users live in memory: a restarted server needs it again
    }

    /// <inheritdoc />
    public Task StopAsync() => _server.StopAsync();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task CreateUserAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(AdminConnectionString);
        await admin.GetDatabase().ExecuteAsync("ACL", ["SETUSER", User, "reset", "on", ">" + Password, .. Tests.SecurityTests.LeastPrivilegeRules("test").Split(' ')]);
    }
}

using StackExchange.Redis;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// A redis-server where the memory connects as the least-privilege ACL user of docs/security.md ("Least privilege"), allowed
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
    public string Endpoints => $"127.0.0.1:{Port},user={User},password={Password}";

    /// <inheritdoc />
    public string AdminEndpoints => ((ITestServer)_server).Endpoints;

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

    /// <summary>
    /// The commands the library needs, and nothing else (docs/security.md, "Least privilege"). EVALSHA/EVAL run the append script, whose
    /// RPUSH, LPUSH, LTRIM and PEXPIRE Redis 7 checks against the same user; SCRIPT LOAD is how StackExchange.Redis caches it;
    /// LRANGE, LLEN and UNLINK (DEL on servers before 4.0) are reads, counts and clears; the rest is StackExchange.Redis's
    /// handshake and keep-alive. Two handshake probes stay refused on purpose, and StackExchange.Redis carries on without
    /// them: CONFIG GET (server settings) and GET of its "tie-breaker" key outside the prefix. On Redis 7.2+ add
    /// +client|setinfo to keep them out of ACL LOG too (7.0 does not know the subcommand).
    /// </summary>
    public static string LeastPrivilegeRules(string prefix) =>
        $"resetkeys ~{prefix}:* resetchannels &__Booksleeve_MasterChanged -@all " +
        "+evalsha +eval +script|load +rpush +lpush +ltrim +pexpire +lrange +llen +unlink +del +lset +pttl +time " +
        "+ping +echo +info +client|setname +subscribe +unsubscribe +hello +auth +client|id +cluster|nodes +cluster|slots +readonly";

    private async Task CreateUserAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(((ITestServer)this).AdminConnectionString);
        await admin.GetDatabase().ExecuteAsync("ACL", ["SETUSER", User, "reset", "on", ">" + Password, .. LeastPrivilegeRules("test").Split(' ')]);
    }
}

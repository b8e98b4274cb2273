using System.CommandLine;
using System.Net.Sockets;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// One chatmem run against one server: the Redis named by --redis / CHATMEM_REDIS, or the embedded Garnet. It opens
/// memory objects (each on its own connection when asked, as separate replicas would be) and turns failures into one
/// line on stderr and an exit code. Passwords never appear: endpoints are printed as host:port.
/// </summary>
internal sealed class MemorySession : IAsyncDisposable
{
    private readonly ConfigurationOptions _options;
    private readonly EmbeddedGarnet? _garnet;
    private readonly List<IConnectionMultiplexer> _connections = [];

    private MemorySession(ConfigurationOptions options, EmbeddedGarnet? garnet)
    {
        _options = options;
        _garnet = garnet;
    }

    /// <summary>host:port of the server, for messages.</summary>
    public string Endpoint => RedisEndpoint.Describe(_options);

    /// <summary>Whether this is the embedded server.</summary>
    public bool IsEmbedded => _garnet is not null;

    /// <summary>Runs <paramref name="body"/> with a session; maps bad input to exit 2 and an unreachable Redis to exit 1.</summary>
    public static async Task<int> RunAsync(ParseResult parsed, Func<MemorySession, Task<int>> body, bool persistent = true)
    {
        MemorySession? session = null;
        try
        {
            var url = CliOptions.RedisUrl(parsed);
            var options = url is null ? null : RedisEndpoint.Parse(url);
            var garnet = url is null ? EmbeddedGarnet.Start(persistent ? parsed.GetValue(CliOptions.DataDir) : null) : null;
            options ??= ConfigurationOptions.Parse(garnet!.Endpoint);
            // A command-line tool should fail in seconds, not retry in the background as a service does.
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = 3000;
            options.SyncTimeout = options.AsyncTimeout = 5000;
            session = new MemorySession(options, garnet);
            return await body(session);
        }
        catch (ArgumentException ex)
        {
            return Fail(ExitCodes.BadInput, ex.Message);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or SocketException)
        {
            var reason = ex is RedisConnectionException rce ? rce.FailureType.ToString() : ex.GetType().Name;
            return Fail(ExitCodes.Unreachable, $"cannot reach Redis at {session?.Endpoint ?? "the server"} ({reason})");
        }
        catch (RedisException ex)
        {
            return Fail(ExitCodes.Unreachable, $"Redis at {session?.Endpoint ?? "the server"} failed: {ex.Message}");
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Cancelled;
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync();
            }
        }
    }

    /// <summary>A memory object on a connection of its own.</summary>
    public async Task<RedisChatMemory> OpenAsync(ChatMemoryConfig config)
    {
        if (config.GetValidationError() is { } error)
        {
            throw new ArgumentException(error);
        }

        var connection = await ConnectionMultiplexer.ConnectAsync(_options.Clone());
        _connections.Add(connection);
        return new RedisChatMemory(connection, config);
    }

    /// <summary>A raw connection of its own, for commands that work on keys directly (SCAN, MEMORY USAGE, scripts).</summary>
    public async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(_options.Clone());
        _connections.Add(connection);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        _garnet?.Dispose();
    }

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"chatmem: {message.ReplaceLineEndings(" ")}");
        return code;
    }
}

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
    private readonly List<RedisChatMemory> _memories = [];

    private MemorySession(ConfigurationOptions options, EmbeddedGarnet? garnet)
    {
        // A command-line tool should fail in seconds, not retry in the background as a service does.
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = 3000;
        options.SyncTimeout = options.AsyncTimeout = 5000;
        _options = options;
        _garnet = garnet;
    }

    /// <summary>host:port of the server, for messages.</summary>
    public string Endpoint => RedisEndpoint.Describe(_options);

    /// <summary>Whether this is the embedded server.</summary>
    public bool IsEmbedded => _garnet is not null;

    /// <summary>Runs <paramref name="body"/> with a session; maps bad input to exit 2 and an unreachable Redis to exit 1,
    /// each with one line on stderr and never a stack trace.</summary>
    public static async Task<int> RunAsync(ParseResult parsed, Func<MemorySession, Task<int>> body, bool persistent = true)
    {
        MemorySession? session = null;
        string? password = null;
        var dataDir = persistent ? parsed.GetValue(CliOptions.DataDir) : null;
        try
        {
            var url = CliOptions.RedisUrl(parsed);
            var options = url is null ? null : RedisEndpoint.Parse(url);
            password = options?.Password;
            var garnet = url is null ? EmbeddedGarnet.Start(dataDir) : null;
            session = new MemorySession(options ?? ConfigurationOptions.Parse(garnet!.Endpoint), garnet);
            return await body(session);
        }
        catch (ArgumentException ex)
        {
            return Fail(ExitCodes.BadInput, Describe(ex), password);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or SocketException)
        {
            var reason = ex is RedisConnectionException rce ? rce.FailureType.ToString() : ex.GetType().Name;
            return Fail(ExitCodes.Unreachable, $"cannot reach Redis at {session?.Endpoint ?? "the server"} ({reason})", password);
        }
        catch (RedisException ex)
        {
            return Fail(ExitCodes.Unreachable, $"Redis at {session?.Endpoint ?? "the server"} failed: {ex.Message}", password);
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (session is null && ex is IOException or UnauthorizedAccessException)
        {
            return Fail(ExitCodes.Unreachable, $"cannot use data directory {dataDir}: {ex.Message}", password);
        }
        catch (Exception ex)
        {
            // Anything else (e.g. the embedded server failing to start) is still one line, not a stack trace.
            return Fail(ExitCodes.Unreachable, $"{ex.GetType().Name}: {ex.Message}", password);
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

    /// <summary>A memory object that opens and owns its own <see cref="ChatMemoryConfig.Connections"/> connections, as a
    /// service connecting from a URL would.</summary>
    public RedisChatMemory OpenOwned(ChatMemoryConfig config)
    {
        var memory = new RedisChatMemory(_options.Clone(), config);
        _memories.Add(memory);
        return memory;
    }

    /// <summary><paramref name="count"/> raw connections of their own.</summary>
    public async Task<IConnectionMultiplexer[]> ConnectAsync(int count)
    {
        var connections = new IConnectionMultiplexer[count];
        for (var i = 0; i < count; i++)
        {
            connections[i] = await ConnectAsync();
        }

        return connections;
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
        foreach (var memory in _memories)
        {
            await memory.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        _garnet?.Dispose();
    }

    private static int Fail(int code, string message, string? password)
    {
        // Endpoints are printed as host:port; this also covers a message that would quote the password.
        message = string.IsNullOrEmpty(password) ? message : message.Replace(password, "***", StringComparison.Ordinal);
        Console.Error.WriteLine($"chatmem: {message.ReplaceLineEndings(" ")}");
        return code;
    }

    /// <summary>The library's message, naming the command-line argument instead of the C# parameter.</summary>
    private static string Describe(ArgumentException ex)
    {
        var message = ex.Message;
        if (ex.ParamName is not { } param)
        {
            return message;
        }

        var suffix = $" (Parameter '{param}')";
        message = message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
        return param switch
        {
            "conversationId" => $"<conversation>: {message}",
            "role" or "content" => $"<{param}>: {message}",
            "url" => $"--redis: {message}",
            _ => message,
        };
    }
}

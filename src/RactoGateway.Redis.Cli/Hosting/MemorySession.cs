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

    private MemorySession(ConfigurationOptions options, EmbeddedGarnet? garnet, bool served)
    {
        // A command-line tool should fail in seconds, not retry in the background as a service does.
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = 3000;
        options.SyncTimeout = options.AsyncTimeout = 5000;
        _options = options;
        _garnet = garnet;
        IsServed = served;
    }

    /// <summary>host:port of the server, for messages.</summary>
    public string Endpoint => RedisEndpoint.Describe(_options);

    /// <summary>Whether this is the embedded server: this process's own, or a running <c>chatmem serve</c>'s.</summary>
    public bool IsEmbedded => _garnet is not null || IsServed;

    /// <summary>Whether this is a running <c>chatmem serve</c> on the data directory (see <see cref="RunningServe"/>).</summary>
    public bool IsServed { get; }

    /// <summary>Runs <paramref name="body"/> with a session and turns any failure into one line on stderr and an exit
    /// code chosen by the exception's type (see <see cref="ExitCodes"/>); never a stack trace, unless --verbose and a bug.
    /// Without --redis, the server is a <c>chatmem serve</c> running on --data-dir when one answers (found before, or
    /// while, waiting for the data lock), else an embedded Garnet of this process's own.</summary>
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
            EmbeddedGarnet? garnet = null;
            var served = url is null && dataDir is not null ? RunningServe.Find(dataDir) : null;
            if (url is null && served is null)
            {
                garnet = EmbeddedGarnet.Start(
                    dataDir,
                    parsed.CommandResult.Command.Name,
                    LockTimeout(parsed),
                    stopWaiting: dataDir is not { } dir ? null : () => (served = RunningServe.Find(dir)) is not null);
            }

            options ??= ConfigurationOptions.Parse(served?.Endpoint ?? garnet!.Endpoint);
            session = new MemorySession(options, garnet, served is not null);
            return await body(session);
        }
        catch (DataLockTimeoutException ex) when (session is null)
        {
            return Fail(ExitCodes.Busy, $"cannot use data directory {dataDir}: {ex.Message}", password);
        }
        catch (Exception ex) when (session is null && ex is IOException or UnauthorizedAccessException)
        {
            return Fail(ExitCodes.Unreachable, $"cannot use data directory {dataDir}: {ex.Message}", password);
        }
        catch (Exception ex)
        {
            var (code, message) = Classify(ex, session?.Endpoint ?? "the server");
            if (code == ExitCodes.Bug && parsed.GetValue(CliOptions.Verbose))
            {
                await Console.Error.WriteLineAsync(RedisEndpoint.Redact(ex.ToString()));
            }

            return code == ExitCodes.Cancelled ? code : Fail(code, message, password);
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync();
            }
        }
    }

    /// <summary>--lock-timeout, when given (else the embedded server reads CHATMEM_LOCK_TIMEOUT, else its default).</summary>
    public static TimeSpan? LockTimeout(ParseResult parsed) =>
        parsed.GetValue(CliOptions.LockTimeout) is { } wait ? TimeSpan.FromSeconds(wait) : null;

    /// <summary>The exit code and message for a failure, by its type; <paramref name="endpoint"/> is host:port.</summary>
    public static (int Code, string Message) Classify(Exception ex, string endpoint) => ex switch
    {
        OperationCanceledException => (ExitCodes.Cancelled, "interrupted"),
        ArgumentException argument => (ExitCodes.BadInput, Describe(argument)),
        FormatException format => (ExitCodes.BadInput, "stdin " + format.Message),
        ChatMemoryImportException { InnerException: { } inner } import => (Classify(inner, endpoint).Code, "stdin " + import.Message),
        RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } =>
            (ExitCodes.Refused, $"Redis at {endpoint} refused the credentials (authentication failed): check the user and password"),
        RedisConnectionException connection => (ExitCodes.Unreachable, $"cannot reach Redis at {endpoint} ({connection.FailureType})"),
        RedisTimeoutException or SocketException or TimeoutException => (ExitCodes.Unreachable, $"cannot reach Redis at {endpoint} ({ex.GetType().Name})"),
        NotSupportedException unsupported => (ExitCodes.Unsupported, $"Redis at {endpoint}: {unsupported.Message.Trim()}"),
        RedisServerException server => (ExitCodes.Refused, $"Redis at {endpoint} refused: {server.Message}"),
        RedisException redis => (ExitCodes.Unreachable, $"Redis at {endpoint} failed: {redis.Message}"),
        _ => (ExitCodes.Bug, $"unexpected error, a bug: {ex.GetType().Name}: {ex.Message} (run with --verbose for the trace)"),
    };

    /// <summary>A memory object that opens and owns its own connection (<see cref="ChatMemoryConfig.Connections"/> of
    /// them), as a service connecting from a URL would, composed with <paramref name="features"/>; the library refuses a
    /// bad config before connecting.</summary>
    public RedisChatMemory Open(ChatMemoryConfig config, ChatMemoryFeatures? features = null)
    {
        var memory = new RedisChatMemory(_options.Clone(), config) { Features = features };
        _memories.Add(memory);
        return memory;
    }

    /// <summary>The operator surface on a connection of its own.</summary>
    public async Task<ChatMemoryAdmin> AdminAsync(ChatMemoryConfig config)
    {
        // ChatMemoryAdmin takes a connection: refuse a bad config before opening one.
        if (config.GetValidationError() is { } error)
        {
            throw new ArgumentException(error, nameof(config));
        }

        return new ChatMemoryAdmin(await ConnectAsync(), config);
    }

    /// <summary>A raw connection of its own, for commands that work on keys directly (SCAN, MEMORY USAGE, scripts),
    /// holding replies in the buffers the library's own connections use.</summary>
    public async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var options = _options.Clone();
        options.ResponseBufferPool ??= ChatMemoryReplyBufferPool.Instance;
        var connection = await ConnectionMultiplexer.ConnectAsync(options);
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

    /// <summary>One line on stderr, <c>chatmem: message</c>, without the password; returns <paramref name="code"/>.</summary>
    public static int Fail(int code, string message, string? password)
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
            "match" => $"--match: {message}",
            "top" => $"--top: {message}",
            "owner" => $"<owner>: {message}",
            "query" => $"<query>: {message}",
            _ => message,
        };
    }
}

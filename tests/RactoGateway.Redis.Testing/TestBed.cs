using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Testing.Servers;
using StackExchange.Redis;

namespace RactoGateway.Redis.Testing;

/// <summary>
/// A memory on a test server with a prefix of its own, plus a raw connection to inspect Redis directly. On a shared
/// server (<see cref="TestServers.GetAsync"/>), both go through the process's one multiplexer for that server
/// (<see cref="TestServers.SharedConnectionAsync"/>), borrowed: the memory does not own it and a bed never closes it.
/// The memory opens connections of its own (and closes them when the bed is disposed) when the test needs that: on a
/// test's own server (outages, restarts), with <see cref="ChatMemoryConfig.Connections"/> above 1, or with
/// <c>ownConnection: true</c> (tests about what a memory does with the connections it opened).
/// </summary>
public sealed class TestBed : IAsyncDisposable
{
    private readonly bool _ownsRaw;

    private TestBed(ITestServer server, RedisChatMemory memory, ConnectionMultiplexer raw, bool ownsRaw, ChatMemoryConfig config, ListLogger<RedisChatMemory> logger)
    {
        Server = server;
        Memory = memory;
        RawConnection = raw;
        _ownsRaw = ownsRaw;
        Config = config;
        Logger = logger;
    }

    /// <summary>Whether beds' memories use the plain transport (StackExchange.Redis's own calls) instead of the pooled,
    /// auto-pipelined one: <c>CHATMEM_TEST_TRANSPORT=plain</c>, which scripts/test.sh sets for a second pass of the core
    /// behaviour classes.</summary>
    public static bool PlainTransport { get; } = Environment.GetEnvironmentVariable("CHATMEM_TEST_TRANSPORT") == "plain";

    public ITestServer Server { get; }

    public RedisChatMemory Memory { get; }

    public ChatMemoryConfig Config { get; }

    public ListLogger<RedisChatMemory> Logger { get; }

    /// <summary>The admin connection: on a shared server the process's shared multiplexer, which a test must not close.</summary>
    public ConnectionMultiplexer RawConnection { get; }

    public IDatabase Raw => RawConnection.GetDatabase();

    /// <summary>A bed on the shared server <paramref name="serverName"/>.</summary>
    /// <param name="serverName">"redis", "garnet", ... (see <see cref="TestServers"/>).</param>
    /// <param name="configure">Changes to the memory's settings (its unique prefix is set already).</param>
    /// <param name="ownConnection">Whether the memory opens and owns its connection rather than borrowing the shared one.</param>
    /// <param name="features">What the memory is composed with (summarizer, recall, owners); also each <see cref="NewReplica"/>'s.</param>
    public static async Task<TestBed> CreateAsync(string serverName, Action<ChatMemoryConfig>? configure = null, bool ownConnection = false, ChatMemoryFeatures? features = null) =>
        await CreateAsync(await TestServers.GetAsync(serverName), configure, ownConnection, features);

    /// <summary>A bed on <paramref name="server"/>; see <see cref="CreateAsync(string, Action{ChatMemoryConfig}?, bool)"/>.</summary>
    public static async Task<TestBed> CreateAsync(ITestServer server, Action<ChatMemoryConfig>? configure = null, bool ownConnection = false, ChatMemoryFeatures? features = null)
    {
        var config = new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), PlainTransport = PlainTransport };
        configure?.Invoke(config);
        var logger = new ListLogger<RedisChatMemory>();
        if (!TestServers.IsShared(server))
        {
            // A test's own server is stopped, restarted and disposed by the test: nothing of it is kept beyond the bed.
            var ownRaw = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString);
            return new TestBed(server, OwnMemory(server, config, logger, features), ownRaw, ownsRaw: true, config, logger);
        }

        var raw = await TestServers.SharedConnectionAsync(server.AdminConnectionString);
        var memory = ownConnection || config.Connections > 1
            ? OwnMemory(server, config, logger, features)
            : new RedisChatMemory(await TestServers.SharedConnectionAsync(server.ConnectionString), config, logger) { Features = features };
        return new TestBed(server, memory, raw, ownsRaw: false, config, logger);
    }

    /// <summary>A second memory object on its own connection, as another replica of the service would have, composed
    /// with <paramref name="features"/>.</summary>
    public RedisChatMemory NewReplica(ChatMemoryFeatures? features = null) => new(Server.ConnectionString, Config) { Features = features };

    public RedisKey Key(string conversationId) => Config.KeyPrefix + ":" + conversationId;

    public async ValueTask DisposeAsync()
    {
        await Memory.DisposeAsync();
        if (_ownsRaw)
        {
            await RawConnection.DisposeAsync();
        }
    }

    /// <summary>A memory that opens its own connection(s) (on its first call).</summary>
    private static RedisChatMemory OwnMemory(ITestServer server, ChatMemoryConfig config, ListLogger<RedisChatMemory> logger, ChatMemoryFeatures? features) =>
        new(server.ConnectionString, config, logger) { Features = features };
}

/// <summary>Keeps what was logged, to assert on it.</summary>
public sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, EventId Id, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }
}

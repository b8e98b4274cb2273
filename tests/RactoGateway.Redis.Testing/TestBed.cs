using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Testing.Servers;
using StackExchange.Redis;

namespace RactoGateway.Redis.Testing;

/// <summary>A memory on a shared test server with a prefix of its own, plus a raw connection to inspect Redis directly.</summary>
public sealed class TestBed : IAsyncDisposable
{
    private TestBed(ITestServer server, RedisChatMemory memory, ConnectionMultiplexer raw, ChatMemoryConfig config, ListLogger<RedisChatMemory> logger)
    {
        Server = server;
        Memory = memory;
        RawConnection = raw;
        Config = config;
        Logger = logger;
    }

    public ITestServer Server { get; }

    public RedisChatMemory Memory { get; }

    public ChatMemoryConfig Config { get; }

    public ListLogger<RedisChatMemory> Logger { get; }

    public ConnectionMultiplexer RawConnection { get; }

    public IDatabase Raw => RawConnection.GetDatabase();

    public static async Task<TestBed> CreateAsync(string serverName, Action<ChatMemoryConfig>? configure = null) =>
        await CreateAsync(await TestServers.GetAsync(serverName), configure);

    public static async Task<TestBed> CreateAsync(ITestServer server, Action<ChatMemoryConfig>? configure = null)
    {
        var config = new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() };
        configure?.Invoke(config);
        var logger = new ListLogger<RedisChatMemory>();
        var memory = new RedisChatMemory(server.ConnectionString, config, logger);
        var raw = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString);
        return new TestBed(server, memory, raw, config, logger);
    }

    /// <summary>A second memory object on its own connection, as another replica of the service would have.</summary>
    public RedisChatMemory NewReplica() => new(Server.ConnectionString, Config);

    public RedisKey Key(string conversationId) => Config.KeyPrefix + ":" + conversationId;

    public async ValueTask DisposeAsync()
    {
        await Memory.DisposeAsync();
        await RawConnection.DisposeAsync();
    }
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

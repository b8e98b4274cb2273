using System.Collections.Concurrent;
using System.Reflection;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;
using Xunit.Sdk;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// The servers every integration test runs against. scripts/test.sh starts them once for the whole run (all four test
/// assemblies) with the launcher tests/RactoGateway.Redis.TestServers and names the file that lists them in
/// <see cref="Variable"/>; without it (a test run from an IDE) each test process starts its own on first use and stops
/// them by pid when it exits. Tests share a server, never keys: each test uses its own prefix or conversation ids.
/// </summary>
public static class TestServers
{
    /// <summary>The variable naming the file of the run's shared servers (see <see cref="SharedServer.Publish"/>).</summary>
    public const string Variable = "CHATMEM_TEST_SERVERS";

    /// <summary>The names <see cref="AllServersAttribute"/> passes to tests.</summary>
    public static readonly string[] Names = ["redis", "redis8", "valkey", "garnet", "cluster", "acl"];

    /// <summary>The servers with vector sets, for recall (<see cref="VectorServersAttribute"/>): Garnet with its preview
    /// flag, and Redis 8.</summary>
    public static readonly string[] VectorNames = ["garnet-vector", "redis8"];

    /// <summary>Every server the launcher starts for a run: the matrix (<see cref="Names"/>, Redis 8, Valkey 8) and
    /// Garnet with vector sets.</summary>
    public static readonly string[] SharedNames = ["redis", "redis8", "valkey", "garnet", "garnet-vector", "cluster", "acl"];

    private static readonly ConcurrentDictionary<string, Lazy<Task<ITestServer>>> Started = new();

    private static readonly ConcurrentDictionary<string, Lazy<Task<ConnectionMultiplexer>>> Connections = new();

    private static readonly Lazy<IReadOnlyDictionary<string, ITestServer>?> Published = new(() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? SharedServer.Read(path) : null);

    static TestServers() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var server in Started.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully))
        {
            server.Value.Result.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    };

    /// <summary>The shared server of that name: the run's (scripts/test.sh), or else this process's own, started on
    /// first use. A test never stops it (it throws); see <see cref="StartNewAsync"/>.</summary>
    public static Task<ITestServer> GetAsync(string name)
    {
        if (Published.Value is { } published)
        {
            return published.TryGetValue(name, out var server)
                ? Task.FromResult(server)
                : throw new InvalidOperationException($"No \"{name}\" among the servers scripts/test.sh started ({Environment.GetEnvironmentVariable(Variable)}: {string.Join(", ", published.Keys)}).");
        }

        return Started.GetOrAdd(name, n => new Lazy<Task<ITestServer>>(() => StartNewAsync(n))).Value;
    }

    /// <summary>Whether <paramref name="server"/> is one of the shared servers (<see cref="GetAsync"/>'s), which tests
    /// share connections to, rather than a test's own.</summary>
    public static bool IsShared(ITestServer server) =>
        Published.Value is { } published
            ? published.Values.Contains(server)
            : Started.Values.Any(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully && ReferenceEquals(l.Value.Result, server));

    /// <summary>
    /// This process's one multiplexer for <paramref name="configuration"/> on a shared server, opened on first use
    /// (asynchronously) and never closed: thousands of test beds each opening their own made some 11,000 connects per
    /// run (issue 18). Its replies are pooled as a memory's own connections are (<see cref="ChatMemoryReplyBufferPool"/>).
    /// </summary>
    public static Task<ConnectionMultiplexer> SharedConnectionAsync(string configuration)
    {
        var connection = Connections.GetOrAdd(configuration, Open);
        if (connection.Value.IsFaulted || connection.Value.IsCanceled)
        {
            // A connect that failed is not kept: the caller that saw it failed, the next one tries again.
            Connections.TryRemove(new KeyValuePair<string, Lazy<Task<ConnectionMultiplexer>>>(configuration, connection));
            connection = Connections.GetOrAdd(configuration, Open);
        }

        return connection.Value;

        static Lazy<Task<ConnectionMultiplexer>> Open(string configuration) => new(() =>
        {
            var options = ConfigurationOptions.Parse(configuration);
            options.ResponseBufferPool = ChatMemoryReplyBufferPool.Instance;
            return ConnectionMultiplexer.ConnectAsync(options);
        });
    }

    /// <summary>A server of its own, for tests that stop and restart it. The caller disposes it.</summary>
    public static async Task<ITestServer> StartNewAsync(string name) => name switch
    {
        "redis" or "redis8" or "valkey" => await RedisServerProcess.StartNamedAsync(name),
        "garnet" => await GarnetServerProcess.StartNewAsync(),
        // Garnet with vector sets, for long-term recall.
        "garnet-vector" => await GarnetServerProcess.StartNewAsync("garnet-vector", [GarnetServerProcess.VectorSetsFlag]),
        "cluster" => await RedisClusterProcess.StartNewAsync(),
        "acl" => await AclRedisServer.StartNewAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test server."),
    };

    /// <summary>A prefix no other test uses, so tests never share keys.</summary>
    public static string UniquePrefix() => "test:" + Guid.NewGuid().ToString("N");
}

/// <summary>Runs a <c>[Theory]</c> once per server in <see cref="TestServers.Names"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AllServersAttribute : DataAttribute
{
    /// <inheritdoc />
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => TestServers.Names.Select(n => new object[] { n });
}

/// <summary>Runs a <c>[Theory]</c> once per server with vector sets (<see cref="TestServers.VectorNames"/>): Garnet and
/// Redis 8. Where they differ, the test says which is which.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class VectorServersAttribute : DataAttribute
{
    /// <inheritdoc />
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => TestServers.VectorNames.Select(n => new object[] { n });
}

/// <summary>Runs a <c>[Theory]</c> on each server with vector sets (<see cref="TestServers.VectorNames"/>), streaming off
/// then on: its parameters are <c>(string server, bool streaming)</c>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class VectorServersAndStreamingAttribute : DataAttribute
{
    /// <inheritdoc />
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) =>
        TestServers.VectorNames.SelectMany(n => new[] { new object[] { n, false }, new object[] { n, true } });
}

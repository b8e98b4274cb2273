using System.Collections.Concurrent;
using System.Reflection;
using Xunit.Sdk;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// The servers every integration test runs against, started once per test run on first use and stopped by pid when
/// the test process exits. Tests share a server, never keys: each test uses its own prefix or conversation ids.
/// </summary>
public static class TestServers
{
    /// <summary>The names <see cref="AllServersAttribute"/> passes to tests.</summary>
    public static readonly string[] Names = ["redis", "garnet", "cluster", "acl"];

    private static readonly ConcurrentDictionary<string, Lazy<Task<ITestServer>>> Shared = new();

    static TestServers() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var server in Shared.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully))
        {
            server.Value.Result.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    };

    /// <summary>The shared server of that name.</summary>
    public static Task<ITestServer> GetAsync(string name) =>
        Shared.GetOrAdd(name, n => new Lazy<Task<ITestServer>>(() => StartNewAsync(n))).Value;

    /// <summary>A server of its own, for tests that stop and restart it. The caller disposes it.</summary>
    public static async Task<ITestServer> StartNewAsync(string name) => name switch
    {
        "redis" => await RedisServerProcess.StartNewAsync(),
        "garnet" => await GarnetServerHost.StartNewAsync(),
        // Not in Names: Garnet with vector sets, for long-term recall (RecallStoreTests).
        "garnet-vector" => await GarnetServerHost.StartNewAsync("garnet-vector", [GarnetServerHost.VectorSetsFlag]),
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

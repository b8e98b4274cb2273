using System.Text.Json;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// A server of the run's shared set, started by the launcher (tests/RactoGateway.Redis.TestServers, which scripts/test.sh
/// runs once for all four test assemblies) and published in the file <see cref="TestServers.Variable"/> names. This
/// process only connects to it: it is never stopped or started from a test (<see cref="StopAsync"/> and
/// <see cref="StartAsync"/> throw); a test that restarts a server starts one of its own with
/// <see cref="TestServers.StartNewAsync"/>.
/// </summary>
public sealed class SharedServer : ITestServer
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    private SharedServer(Entry entry)
    {
        Name = entry.Name;
        Port = entry.Port;
        Endpoints = entry.Endpoints;
        AdminEndpoints = entry.AdminEndpoints;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Port { get; }

    /// <inheritdoc />
    public string Endpoints { get; }

    /// <inheritdoc />
    public string AdminEndpoints { get; }

    /// <summary>The message of the exception a shared server's Stop or Start throws.</summary>
    public static string NeverStopped(string name) =>
        $"The shared \"{name}\" server is never stopped or started by a test (other tests use it at the same time): start one of your own with TestServers.StartNewAsync(\"{name}\").";

    /// <inheritdoc />
    public Task StartAsync() => throw new InvalidOperationException(NeverStopped(Name));

    /// <inheritdoc />
    public Task StopAsync() => throw new InvalidOperationException(NeverStopped(Name));

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Writes what a test process needs to connect to each of <paramref name="servers"/> into
    /// <paramref name="path"/>, atomically (a reader never sees half a file).</summary>
    public static void Publish(string path, IEnumerable<ITestServer> servers)
    {
        var entries = servers.Select(s => new Entry(
            s.Name, s.Port, s.Endpoints, s.AdminEndpoints, s is RedisClusterProcess cluster ? [.. cluster.Nodes.Select(n => n.Port)] : null)).ToList();
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new File1(entries), Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads the servers <see cref="Publish"/> wrote, by name. A cluster comes back as a
    /// <see cref="RedisClusterProcess"/> attached to its nodes (tests read its <see cref="RedisClusterProcess.Nodes"/>).</summary>
    public static IReadOnlyDictionary<string, ITestServer> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{TestServers.Variable} names {path}, which does not exist: scripts/test.sh starts the shared servers and writes it before running the tests.");
        }

        var file = JsonSerializer.Deserialize<File1>(File.ReadAllText(path), Json)
            ?? throw new InvalidOperationException($"{path} is empty.");
        return file.Servers.ToDictionary(
            e => e.Name,
            e => e.Nodes is { Count: > 0 } nodes ? (ITestServer)RedisClusterProcess.Attach(nodes) : new SharedServer(e));
    }

    private sealed record File1(List<Entry> Servers);

    private sealed record Entry(string Name, int Port, string Endpoints, string AdminEndpoints, List<int>? Nodes);
}

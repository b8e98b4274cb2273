using System.Diagnostics;
using System.Globalization;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// A real Redis Cluster on loopback: 6 <c>redis-server --cluster-enabled yes</c> child processes (3 masters, 3 replicas)
/// joined by <c>redis-cli --cluster create</c>. Every node is stopped by its own pid.
/// </summary>
public sealed class RedisClusterProcess : ITestServer
{
    /// <summary>Nodes in the cluster: 3 masters and one replica each.</summary>
    public const int NodeCount = 6;

    /// <summary>The cluster's node timeout in milliseconds: how long a master may be silent before failover starts.</summary>
    public const int NodeTimeoutMs = 2000;

    private readonly List<RedisServerProcess> _nodes = [];
    private bool _attached;

    private RedisClusterProcess()
    {
    }

    /// <inheritdoc />
    public string Name => "cluster";

    /// <inheritdoc />
    public int Port => _nodes[0].Port;

    /// <summary>The nodes, in the order they were given to <c>redis-cli --cluster create</c>.</summary>
    public IReadOnlyList<RedisServerProcess> Nodes => _nodes;

    /// <inheritdoc />
    public string Endpoints => string.Join(",", _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>The cluster's <see cref="ITestServer.ConnectionString"/>, on the class itself for the tests that hold a
    /// <see cref="RedisClusterProcess"/>.</summary>
    public string ConnectionString => Endpoints + ITestServer.GenerousTimeouts;

    /// <summary>A cluster that another process started and owns (the run's shared servers, see <see cref="TestServers"/>),
    /// on the nodes at <paramref name="ports"/>: its nodes cannot be stopped or started from here.</summary>
    public static RedisClusterProcess Attach(IEnumerable<int> ports)
    {
        var cluster = new RedisClusterProcess { _attached = true };
        cluster._nodes.AddRange(ports.Select(port => RedisServerProcess.Attach("redis", port)));
        return cluster;
    }

    /// <summary>Starts 6 nodes and forms the cluster; waits until every node reports <c>cluster_state:ok</c>.</summary>
    public static async Task<RedisClusterProcess> StartNewAsync()
    {
        var cluster = new RedisClusterProcess();
        try
        {
            for (var i = 0; i < NodeCount; i++)
            {
                cluster._nodes.Add(await RedisServerProcess.StartNewAsync(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", NodeTimeoutMs.ToString(CultureInfo.InvariantCulture)));
            }

            var create = new List<string> { "--cluster", "create" };
            create.AddRange(cluster._nodes.Select(n => $"127.0.0.1:{n.Port}"));
            create.AddRange(["--cluster-replicas", "1", "--cluster-yes"]);
            var (code, output) = await RedisCli.RunAsync(create, TimeSpan.FromSeconds(60));
            if (code != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed ({code}): {output}");
            }

            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
            await cluster.WaitUntilReplicasInSyncAsync(TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until every running node says <c>cluster_state:ok</c> with all 16384 slots served.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout, IReadOnlyCollection<RedisServerProcess>? except = null)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < timeout)
        {
            var healthy = true;
            foreach (var node in _nodes.Where(n => except is null || !except.Contains(n)))
            {
                var (_, info) = await RedisCli.RunAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), "cluster", "info"], TimeSpan.FromSeconds(5));
                if (!info.Contains("cluster_state:ok", StringComparison.Ordinal) || !info.Contains("cluster_slots_ok:16384", StringComparison.Ordinal))
                {
                    healthy = false;
                    last = $"node {node.Port}: {info}";
                    break;
                }
            }

            if (healthy)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The cluster did not become healthy within {timeout}. Last: {last}");
    }

    /// <summary>
    /// Waits until every replica has finished its initial sync (<c>master_link_status:up</c>): a replica still syncing
    /// cannot be promoted, and the failover tests need one that can.
    /// </summary>
    public async Task WaitUntilReplicasInSyncAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var inSync = 0;
        while (clock.Elapsed < timeout)
        {
            inSync = 0;
            foreach (var node in _nodes.Where(n => n.IsRunning))
            {
                var (_, info) = await RedisCli.RunAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), "info", "replication"], TimeSpan.FromSeconds(5));
                if (info.Contains("role:slave", StringComparison.Ordinal) && info.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    inSync++;
                }
            }

            if (inSync == NodeCount / 2)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Only {inSync} of {NodeCount / 2} replicas finished their sync within {timeout}.");
    }

    /// <summary>The replica of the master on <paramref name="master"/> (from CLUSTER NODES).</summary>
    public async Task<RedisServerProcess> ReplicaOfAsync(RedisServerProcess master)
    {
        var (_, id) = await RedisCli.RunAsync(["-p", master.Port.ToString(CultureInfo.InvariantCulture), "cluster", "myid"], TimeSpan.FromSeconds(5));
        var (_, nodes) = await RedisCli.RunAsync(["-p", master.Port.ToString(CultureInfo.InvariantCulture), "cluster", "nodes"], TimeSpan.FromSeconds(5));
        var line = nodes.Split('\n').First(l => l.Contains("slave " + id.Trim(), StringComparison.Ordinal));
        var address = line.Split(' ')[1]; // 127.0.0.1:port@busport
        return NodeAt(int.Parse(address.Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until <paramref name="node"/> reports <c>role:master</c>.</summary>
    public static async Task WaitUntilMasterAsync(RedisServerProcess node, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var (_, info) = await RedisCli.RunAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), "info", "replication"], TimeSpan.FromSeconds(5));
            if (info.Contains("role:master", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The node on port {node.Port} was not promoted within {timeout}.");
    }

    /// <summary>The node listening on <paramref name="port"/>.</summary>
    public RedisServerProcess NodeAt(int port) => _nodes.Single(n => n.Port == port);

    /// <summary>Starts every stopped node again on its own port and data (nodes.conf keeps its cluster identity).</summary>
    public async Task StartAsync()
    {
        if (_attached)
        {
            throw new InvalidOperationException(SharedServer.NeverStopped(Name));
        }

        foreach (var node in _nodes.Where(n => !n.IsRunning))
        {
            await node.StartAsync();
        }

        await WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Stops every node abruptly, as a power cut to the whole cluster would.</summary>
    public async Task StopAsync()
    {
        if (_attached)
        {
            throw new InvalidOperationException(SharedServer.NeverStopped(Name));
        }

        foreach (var node in _nodes)
        {
            await node.StopAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}

/// <summary>Runs <c>redis-cli</c> as a child process, bounded in time and killed by pid when it overruns.</summary>
internal static class RedisCli
{
    public static string Executable =>
        new[] { "/usr/bin/redis-cli", "/usr/local/bin/redis-cli" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-cli is not installed: run scripts/test.sh, which installs redis-tools with apt-get.");

    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
            throw new TimeoutException($"redis-cli {string.Join(' ', start.ArgumentList)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

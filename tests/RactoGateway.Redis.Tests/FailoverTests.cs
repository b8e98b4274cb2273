using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// A Redis Cluster master is killed with SIGKILL under load. Its replica takes over; the same memory object carries on,
/// no call outlives the configured timeout, and with <see cref="ChatMemoryConfig.WaitForReplicas"/> every acknowledged
/// append survives.
/// </summary>
[Trait("Category", "Faults")]
[Collection(FaultsCollection.Name)]
public class FailoverTests(ITestOutputHelper output)
{
    private const int Conversations = 50;
    private const int Writers = 8;

    /// <summary>The client timeout this test sets (not the fixture's generous 30 s): no call outliving it is the behaviour
    /// under test, a bound with no causal formulation.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>asyncTimeout is 3 s; SE.Redis checks timeouts on a 1 s heartbeat, so 6 s is "bounded by the timeout" with slack.
    /// With WaitForReplicas an append is up to 4 round trips (EXISTS, EVALSHA, EXISTS, WAIT), so its bound is larger.</summary>
    private static readonly TimeSpan MaxCall = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan MaxCallWithWait = TimeSpan.FromSeconds(14);

    [Fact]
    public async Task Operations_resume_on_the_same_object_after_a_master_is_killed_and_no_call_hangs()
    {
        var run = await RunFailoverAsync(c => { }, restartKilledNode: false);

        // Async replication: a few appends acknowledged by the dead master may not have reached its replica. Report them.
        output.WriteLine($"without WaitForReplicas: lost {run.Lost} of {run.Acknowledged} acknowledged appends");
        Assert.True(run.Lost <= run.Acknowledged);
    }

    [Fact]
    public async Task With_WaitForReplicas_every_acknowledged_append_survives_the_failover()
    {
        // After the failover the promoted master has no replica, so WAIT 1 cannot succeed (appends throw
        // ChatMemoryReplicationException) until the killed node restarts and rejoins as its replica.
        var run = await RunFailoverAsync(
            c =>
            {
                c.WaitForReplicas = 1;
                c.WaitForReplicasTimeout = TimeSpan.FromMilliseconds(500);
            },
            restartKilledNode: true);

        Assert.Equal(0, run.Lost);
        Assert.True(run.Acknowledged > 1000, $"only {run.Acknowledged} appends were acknowledged");
    }

    private async Task<FailoverRun> RunFailoverAsync(Action<ChatMemoryConfig> configure, bool restartKilledNode)
    {
        await using var cluster = (RedisClusterProcess)await TestServers.StartNewAsync("cluster");
        await using var bed = await TestBed.CreateAsync(cluster, c =>
        {
            c.MaxTurns = 100_000; // nothing is trimmed: every acknowledged message must still be there
            configure(c);
        });
        await using var memory = new RedisChatMemory(((ITestServer)cluster).ConnectionStringWithTimeout(Timeout), bed.Config);
        var ids = Enumerable.Range(0, Conversations).Select(i => $"conv-{i}").ToArray();

        // The victim: the master of conv-0's slot. Its conversations are the ones that fail over.
        var victimEndpoint = bed.Raw.IdentifyEndpoint(bed.Key(ids[0]))!;
        var victim = cluster.NodeAt(((System.Net.IPEndPoint)victimEndpoint).Port);
        var onVictim = ids.Where(id => Equals(bed.Raw.IdentifyEndpoint(bed.Key(id)), victimEndpoint)).ToHashSet();

        var acknowledged = new ConcurrentDictionary<string, ConcurrentBag<string>>(ids.Select(id => KeyValuePair.Create(id, new ConcurrentBag<string>())));
        var attempted = 0;
        var failed = 0;
        var notReplicated = 0;
        var slowest = TimeSpan.Zero;
        var failures = new ConcurrentDictionary<string, int>();
        var samples = new ConcurrentDictionary<string, string>();
        var clock = Stopwatch.StartNew();
        var killedAtMs = long.MaxValue;
        var resumedAtMs = long.MaxValue;
        var stop = new CancellationTokenSource();
        var hardLimit = Stopwatch.StartNew();

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested && hardLimit.Elapsed < TimeSpan.FromSeconds(60))
            {
                var id = ids[(w + (n * Writers)) % ids.Length];
                var content = $"w{w}-n{n++}";
                Interlocked.Increment(ref attempted);
                var call = Stopwatch.StartNew();
                try
                {
                    await memory.AppendAsync(id, "user", content);
                    acknowledged[id].Add(content);
                    if (onVictim.Contains(id) && call.ElapsedMilliseconds >= 0 && clock.ElapsedMilliseconds - call.ElapsedMilliseconds > Interlocked.Read(ref killedAtMs))
                    {
                        // A call sent after the kill to a conversation of the killed master succeeded.
                        Interlocked.CompareExchange(ref resumedAtMs, clock.ElapsedMilliseconds, long.MaxValue);
                    }
                }
                catch (ChatMemoryReplicationException)
                {
                    Interlocked.Increment(ref notReplicated);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    Interlocked.Increment(ref failed);
                    failures.AddOrUpdate(ex.GetType().Name, 1, (_, c) => c + 1);
                    samples.TryAdd(ex.GetType().Name, ex.Message);
                    await Task.Delay(20);
                }

                call.Stop();
                lock (failures)
                {
                    if (call.Elapsed > slowest)
                    {
                        slowest = call.Elapsed;
                    }
                }
            }
        })).ToArray();

        var replica = await cluster.ReplicaOfAsync(victim);
        // Kill once the killed master's conversations hold acknowledged appends (100), not after a delay.
        var until = Stopwatch.StartNew();
        while (onVictim.Sum(id => acknowledged[id].Count) < 100)
        {
            Assert.True(until.Elapsed < TimeSpan.FromSeconds(30), "no appends were acknowledged before the kill");
            await Task.Delay(20);
        }

        await victim.StopAsync(); // SIGKILL on the master's pid
        Interlocked.Exchange(ref killedAtMs, clock.ElapsedMilliseconds);
        await RedisClusterProcess.WaitUntilMasterAsync(replica, TimeSpan.FromSeconds(30));
        var promotedAfterMs = clock.ElapsedMilliseconds - killedAtMs;
        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30), except: [victim]);
        var healthyAfterMs = clock.ElapsedMilliseconds - killedAtMs;
        if (restartKilledNode)
        {
            await victim.StartAsync(); // same port and nodes.conf: it rejoins as the replica of the promoted node
            await cluster.WaitUntilReplicasInSyncAsync(TimeSpan.FromSeconds(30));
            output.WriteLine($"killed node rejoined as a replica and in sync {clock.ElapsedMilliseconds - killedAtMs} ms after SIGKILL");
        }


        // Keep the load on until the victim's conversations have been written again.
        var waitFor = Stopwatch.StartNew();
        while (Interlocked.Read(ref resumedAtMs) == long.MaxValue && waitFor.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        // Then 300 more acknowledged appends to them: the load goes on after the failover (a count, not a delay; with
        // 100, the WaitForReplicas run acknowledged 975 appends in all, short of the 1,000 it asserts as meaningful load).
        var resumed = onVictim.Sum(id => acknowledged[id].Count);
        var more = Stopwatch.StartNew();
        while (resumedAtMs != long.MaxValue && onVictim.Sum(id => acknowledged[id].Count) < resumed + 300)
        {
            Assert.True(more.Elapsed < TimeSpan.FromSeconds(30), "the killed master's conversations stopped accepting appends");
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));

        foreach (var sample in samples)
        {
            output.WriteLine($"{sample.Key}: {sample.Value}");
        }

        Assert.True(resumedAtMs != long.MaxValue, "the killed master's conversations never accepted an append again");
        var bound = bed.Config.WaitForReplicas > 0 ? MaxCallWithWait : MaxCall;
        Assert.True(slowest < bound, $"a call took {slowest}");

        // Every conversation works on the same object, and holds what was acknowledged.
        var acknowledgedCount = 0;
        var lost = 0;
        foreach (var id in ids)
        {
            var found = (await memory.GetHistoryAsync(id)).Select(m => m.Content).ToHashSet();
            acknowledgedCount += acknowledged[id].Count;
            lost += acknowledged[id].Count(c => !found.Contains(c));
        }

        var run = new FailoverRun(Volatile.Read(ref attempted), acknowledgedCount, lost, Volatile.Read(ref failed), Volatile.Read(ref notReplicated));
        output.WriteLine(
            $"failover (WaitForReplicas={bed.Config.WaitForReplicas}): attempted {run.Attempted}, acknowledged {run.Acknowledged}, " +
            $"found afterwards {run.Acknowledged - run.Lost}, lost {run.Lost}, failed {run.Failed} ({string.Join(", ", failures.Select(f => $"{f.Key} {f.Value}"))}), " +
            $"not replicated {run.NotReplicated}; replica promoted {promotedAfterMs} ms and cluster_state ok {healthyAfterMs} ms after SIGKILL, killed master's conversations " +
            $"writable again {resumedAtMs - killedAtMs} ms after SIGKILL; slowest call {slowest.TotalMilliseconds:F0} ms; " +
            $"{onVictim.Count} of {Conversations} conversations on the killed master");
        return run;
    }

    private sealed record FailoverRun(int Attempted, int Acknowledged, int Lost, int Failed, int NotReplicated);
}

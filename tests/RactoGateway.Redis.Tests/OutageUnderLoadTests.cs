using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// redis-server is killed while 16 tasks append and read through one memory object, and kept down until each task's
/// worth of calls issued during the outage has failed: every call fails with the documented exception within the
/// configured timeout, the same object works again within 2 s of the restart, and
/// nothing leaks (no unobserved task exceptions, no growing memory).
/// </summary>
[Trait("Category", "Faults")]
[Collection(FaultsCollection.Name)]
public class OutageUnderLoadTests(ITestOutputHelper output)
{
    private const int Tasks = 16;

    // The client timeout this test sets (not the fixture's generous 30 s): calls ending within it is the behaviour under
    // test. SE.Redis checks it on a 1 s heartbeat, so a failing call ends within 3 s + 1 s; 5 s leaves slack for a loaded
    // 2-core machine. A bound kept on purpose: "within the configured timeout" has no causal formulation.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan MaxCall = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Calls_fail_fast_and_documented_while_down_and_the_same_object_recovers_within_2_s()
    {
        // Finalize what earlier tests left behind first: only this test's own unobserved exceptions should count.
        Heap();
        var unobserved = new ConcurrentBag<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => unobserved.Add(e.Exception);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            await using var server = await TestServers.StartNewAsync("redis");
            await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 5);
            await using var memory = new RedisChatMemory(server.ConnectionStringWithTimeout(Timeout), bed.Config);

            await RunLoadAsync(memory, 200); // warm up: JIT, pools, script cache
            var heapBefore = Heap();

            var clock = Stopwatch.StartNew();
            var failures = new ConcurrentDictionary<string, int>();
            var slowestFailure = TimeSpan.Zero;
            var slowest = TimeSpan.Zero;
            long downAtMs = long.MaxValue, restartedAtMs = long.MaxValue, recoveredAtMs = long.MaxValue;
            var failedDuringOutage = 0;
            var succeededAfterRestart = 0;
            var stats = new object();
            var stop = new CancellationTokenSource();
            var attempted = 0;
            var succeeded = 0;

            var load = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested && clock.Elapsed < TimeSpan.FromSeconds(60); n++)
                {
                    var call = Stopwatch.StartNew();
                    var startedMs = clock.ElapsedMilliseconds;
                    Interlocked.Increment(ref attempted);
                    try
                    {
                        if (n % 2 == 0)
                        {
                            await memory.AppendAsync($"c{t}", "user", $"t{t}-n{n}");
                        }
                        else
                        {
                            await memory.GetHistoryAsync($"c{t}");
                        }

                        Interlocked.Increment(ref succeeded);
                        if (startedMs > Interlocked.Read(ref restartedAtMs))
                        {
                            Interlocked.Increment(ref succeededAfterRestart);
                            Interlocked.CompareExchange(ref recoveredAtMs, clock.ElapsedMilliseconds, long.MaxValue);
                        }
                    }
                    catch (Exception ex)
                    {
                        failures.AddOrUpdate(ex.GetType().Name, 1, (_, c) => c + 1);
                        if (startedMs > Interlocked.Read(ref downAtMs))
                        {
                            Interlocked.Increment(ref failedDuringOutage);
                        }

                        Assert.True(ex is RedisConnectionException or RedisTimeoutException, $"undocumented {ex.GetType()}: {ex.Message}");
                        lock (stats)
                        {
                            slowestFailure = call.Elapsed > slowestFailure ? call.Elapsed : slowestFailure;
                        }

                        await Task.Delay(10);
                    }

                    lock (stats)
                    {
                        slowest = call.Elapsed > slowest ? call.Elapsed : slowest;
                    }
                }
            })).ToArray();

            // Counts, not delays: the load is running (20 calls per task answered), then the server stays down until as
            // many calls issued after the kill as there are tasks have failed, then the load goes on after recovery.
            await UntilAsync(() => Volatile.Read(ref succeeded) >= Tasks * 20, "the load never got going");
            await server.StopAsync(); // SIGKILL
            Interlocked.Exchange(ref downAtMs, clock.ElapsedMilliseconds);
            await UntilAsync(() => Volatile.Read(ref failedDuringOutage) >= Tasks, "calls issued during the outage did not fail");
            await server.StartAsync(); // returns once the server answers PING
            Interlocked.Exchange(ref restartedAtMs, clock.ElapsedMilliseconds);

            await UntilAsync(() => Interlocked.Read(ref recoveredAtMs) != long.MaxValue, "the same memory object never worked again");
            await UntilAsync(() => Volatile.Read(ref succeededAfterRestart) >= Tasks * 20, "the load did not go on after the restart");
            await stop.CancelAsync();
            await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(30));
            var recovery = TimeSpan.FromMilliseconds(recoveredAtMs - restartedAtMs);

            // More load after recovery, then compare the heap with the one before the outage.
            await RunLoadAsync(memory, 200);
            var heapAfter = Heap();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            output.WriteLine(
                $"outage: down {restartedAtMs - downAtMs} ms; attempted {attempted}, succeeded {succeeded}, failed {string.Join(", ", failures.Select(f => $"{f.Key} {f.Value}"))}; " +
                $"slowest failing call {slowestFailure.TotalMilliseconds:F0} ms, slowest call {slowest.TotalMilliseconds:F0} ms; " +
                $"first success {recovery.TotalMilliseconds:F0} ms after the restarted server answered PING; " +
                $"heap {heapBefore / 1024} KiB before, {heapAfter / 1024} KiB after; unobserved task exceptions {unobserved.Count}");

            Assert.True(recoveredAtMs != long.MaxValue, "the same memory object never worked again");
            Assert.True(recovery < TimeSpan.FromSeconds(2), $"recovered {recovery} after the restart");
            Assert.True(slowest < MaxCall, $"a call took {slowest}");
            Assert.NotEmpty(failures);
            Assert.True(heapAfter - heapBefore < 16 * 1024 * 1024, $"the heap grew from {heapBefore} to {heapAfter} bytes");
            Assert.Empty(unobserved);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Each task appends and reads <paramref name="rounds"/> times: a count of operations, not a duration.</summary>
    private static async Task RunLoadAsync(RedisChatMemory memory, int rounds) =>
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var n = 0; n < rounds; n++)
            {
                await memory.AppendAsync($"warm{t}", "user", $"n{n}");
                await memory.GetHistoryAsync($"warm{t}");
            }
        })));

    /// <summary>Polls <paramref name="condition"/> until it holds; 30 s is the test's own deadline.</summary>
    private static async Task UntilAsync(Func<bool> condition, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), failure);
            await Task.Delay(20);
        }
    }
}

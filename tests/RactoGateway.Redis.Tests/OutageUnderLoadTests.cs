using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// redis-server is killed for 5 s while 16 tasks append and read through one memory object: every call fails with the
/// documented exception within the configured timeout, the same object works again within 2 s of the restart, and
/// nothing leaks (no unobserved task exceptions, no growing memory).
/// </summary>
[Trait("Category", "Faults")]
[Collection(FaultsCollection.Name)]
public class OutageUnderLoadTests(ITestOutputHelper output)
{
    private const int Tasks = 16;

    // The configured timeout of ITestServer.ConnectionString is 3 s (asyncTimeout/syncTimeout); SE.Redis checks it on
    // a 1 s heartbeat, so a failing call ends within 3 s + 1 s; 5 s leaves slack for a loaded 2-core machine.
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
            var memory = bed.Memory;

            await RunLoadAsync(memory, TimeSpan.FromSeconds(2), _ => { }); // warm up: JIT, pools, script cache
            var heapBefore = Heap();

            var clock = Stopwatch.StartNew();
            var failures = new ConcurrentDictionary<string, int>();
            var slowestFailure = TimeSpan.Zero;
            var slowest = TimeSpan.Zero;
            long restartedAtMs = long.MaxValue, recoveredAtMs = long.MaxValue;
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
                            Interlocked.CompareExchange(ref recoveredAtMs, clock.ElapsedMilliseconds, long.MaxValue);
                        }
                    }
                    catch (Exception ex)
                    {
                        failures.AddOrUpdate(ex.GetType().Name, 1, (_, c) => c + 1);
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

            await Task.Delay(1000);
            await server.StopAsync(); // SIGKILL
            var downAtMs = clock.ElapsedMilliseconds;
            await Task.Delay(5000);
            await server.StartAsync(); // returns once the server answers PING
            Interlocked.Exchange(ref restartedAtMs, clock.ElapsedMilliseconds);

            var wait = Stopwatch.StartNew();
            while (Interlocked.Read(ref recoveredAtMs) == long.MaxValue && wait.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }

            await Task.Delay(2000);
            await stop.CancelAsync();
            await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(30));
            var recovery = TimeSpan.FromMilliseconds(recoveredAtMs - restartedAtMs);

            // More load after recovery, then compare the heap with the one before the outage.
            await RunLoadAsync(memory, TimeSpan.FromSeconds(2), _ => { });
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

    private static async Task RunLoadAsync(RedisChatMemory memory, TimeSpan duration, Action<int> onCall)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var n = 0; clock.Elapsed < duration; n++)
            {
                await memory.AppendAsync($"warm{t}", "user", $"n{n}");
                await memory.GetHistoryAsync($"warm{t}");
                onCall(n);
            }
        })));
    }
}

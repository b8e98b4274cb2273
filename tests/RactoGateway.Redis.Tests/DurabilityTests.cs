using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// redis-server with <c>appendonly yes</c> and <c>appendfsync always</c> is killed with SIGKILL while appends are in flight
/// and restarted on the same data: every acknowledged message is still there, in order, within its window.
/// </summary>
[Trait("Category", "Faults")]
[Collection(FaultsCollection.Name)]
public class DurabilityTests(ITestOutputHelper output)
{
    private const int Conversations = 100;
    private const int Target = 10_000;
    private const int Writers = 25;
    private const int MaxTurns = 30; // window 60; ~100 appends per conversation, so every window is trimmed

    [Fact]
    public async Task Acknowledged_appends_survive_SIGKILL_with_appendfsync_always()
    {
        await using var server = await RedisServerProcess.StartNewAsync("--appendonly", "yes", "--appendfsync", "always");
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = MaxTurns);
        // A 3 s client timeout, set here: after the SIGKILL the writers' next appends wait in StackExchange.Redis's
        // backlog until it, and the writers stop at that failure (with the fixture's 30 s they would outlast the wait below).
        await using var memory = new RedisChatMemory(((ITestServer)server).ConnectionStringWithTimeout(TimeSpan.FromSeconds(3)), bed.Config);
        var window = bed.Config.WindowSize;

        // Each conversation has one writer, which appends in sequence: what is acknowledged is in a known order.
        var acknowledged = Enumerable.Range(0, Conversations).Select(_ => new List<string>()).ToArray();
        var inFlight = new ConcurrentDictionary<int, string>();
        var total = 0;
        var attempted = 0;
        var reached = new TaskCompletionSource();
        var clock = Stopwatch.StartNew();

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var n = 0; clock.Elapsed < TimeSpan.FromSeconds(60); n++)
            {
                var c = w + (Writers * (n % (Conversations / Writers)));
                var content = $"c{c}-n{n}";
                inFlight[c] = content;
                Interlocked.Increment(ref attempted);
                try
                {
                    await memory.AppendAsync($"conv-{c}", n % 2 == 0 ? "user" : "assistant", content);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    return; // the server is gone: this append may or may not have been stored
                }

                acknowledged[c].Add(content);
                inFlight.TryRemove(c, out _);
                if (Interlocked.Increment(ref total) >= Target)
                {
                    reached.TrySetResult();
                }
            }
        })).ToArray();

        await reached.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await server.StopAsync(); // SIGKILL while the writers are still appending
        var writeSeconds = clock.Elapsed.TotalSeconds;
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));

        var restart = Stopwatch.StartNew();
        await server.StartAsync(); // same port, same directory: the AOF is replayed
        var reloadedMs = restart.ElapsedMilliseconds;

        var acknowledgedTotal = acknowledged.Sum(a => a.Count);
        var expectedInWindows = 0;
        var foundInWindows = 0;
        var inFlightStored = 0;
        for (var c = 0; c < Conversations; c++)
        {
            var found = (await GetHistoryEventuallyAsync(memory, $"conv-{c}")).Select(m => m.Content).ToList();
            var expected = acknowledged[c].TakeLast(window).ToList();

            // An append in flight at the kill may have been stored (fsynced before the reply was lost): then it is the
            // newest, and the window has moved on by one.
            if (inFlight.TryGetValue(c, out var pending) && found.Count > 0 && found[^1] == pending)
            {
                inFlightStored++;
                expected = [.. acknowledged[c].Append(pending).TakeLast(window)];
            }

            var expectedAcknowledged = expected.Where(m => m != pending).ToList();
            expectedInWindows += expectedAcknowledged.Count;
            foundInWindows += expectedAcknowledged.Count(found.Contains);
            Assert.Equal(expected, found);
        }

        output.WriteLine(
            $"durability: attempted {attempted}, acknowledged {acknowledgedTotal} over {Conversations} conversations in {writeSeconds:F1} s; " +
            $"SIGKILL with {inFlight.Count} appends in flight; restart + AOF reload {reloadedMs} ms; " +
            $"acknowledged messages still in their window: expected {expectedInWindows}, found {foundInWindows}; in-flight appends found stored: {inFlightStored}");
        Assert.True(acknowledgedTotal >= Target);
        Assert.Equal(expectedInWindows, foundInWindows);
    }

    private static async Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryEventuallyAsync(RedisChatMemory memory, string id)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await memory.GetHistoryAsync(id);
            }
            catch (Exception ex) when ((ex is RedisException or TimeoutException) && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }
        }
    }
}

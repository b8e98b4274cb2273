using System.Diagnostics;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Reads and appends issued together are written together (auto-pipelining): every caller still gets its own
/// reply, in its own order, and a round that meets a server that is down fails each of its calls instead of hanging.</summary>
public class AutoPipelineTests
{
    [Theory, AllServers]
    public async Task Callers_issuing_together_each_get_their_own_reply_and_keep_their_order(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName, c => c.MaxTurns = 2000);

        // 256 callers, 12 conversations, 20 appends each, every append followed by a read of the same conversation.
        await Task.WhenAll(Enumerable.Range(0, 256).Select(caller => Task.Run(async () =>
        {
            var id = "c" + (caller % 12);
            for (var i = 0; i < 20; i++)
            {
                await bed.Memory.AppendAsync(id, "user", $"{caller}:{i}");
                var history = await bed.Memory.GetHistoryAsync(id);
                Assert.Contains(history, m => m.Content == $"{caller}:{i}");
            }
        })));

        for (var c = 0; c < 12; c++)
        {
            var history = await bed.Memory.GetHistoryAsync("c" + c);
            var byCaller = history.Select(m => m.Content.Split(':')).GroupBy(p => int.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.All(byCaller, g =>
            {
                Assert.Equal(c, g.Key % 12);
                Assert.Equal(Enumerable.Range(0, 20), g.Select(p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)));
            });
            Assert.Equal(Enumerable.Range(0, 256).Count(caller => caller % 12 == c) * 20, history.Count);
        }
    }

    [Theory, AllServers]
    public async Task Calls_issued_together_while_the_server_is_down_each_fail_documented_and_none_hangs(string serverName)
    {
        await using var server = await TestServers.StartNewAsync(serverName);
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("c", "user", "before");

        await server.StopAsync();
        var clock = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, 64).Select(i => i % 2 == 0
            ? bed.Memory.AppendAsync("c" + (i % 8), "user", "during " + i)
            : (Task)bed.Memory.GetHistoryAsync("c" + (i % 8))).ToArray();
        var all = Task.WhenAll(calls);
        var finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.Same(all, finished);
        // Observe the aggregate too: left unobserved, its finalizer raises UnobservedTaskException in whichever test
        // collects next (the outage test counts those, and failed CI on this one).
        Assert.NotNull(all.Exception);
        Assert.All(calls, call => Assert.True(
            call.Exception?.InnerException is RedisConnectionException or RedisTimeoutException,
            $"unexpected {call.Status}: {call.Exception?.InnerException?.GetType()}"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }
}

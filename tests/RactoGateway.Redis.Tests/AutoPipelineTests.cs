using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>Reads and appends issued together are written together (auto-pipelining): every caller still gets its own
/// reply, in its own order, and a round that meets a server that is down fails each of its calls instead of hanging.</summary>
public class AutoPipelineTests(ITestOutputHelper output)
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
        // A 3 s client timeout, set here: this test is about calls to a stopped server ending (by the connection's failure
        // or by that timeout), so it may not take the fixture's generous 30 s.
        await using var server = await TestServers.StartNewAsync(serverName);
        await using var memory = new RedisChatMemory(server.ConnectionStringWithTimeout(TimeSpan.FromSeconds(3)), new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await memory.AppendAsync("c", "user", "before");

        await server.StopAsync();
        var calls = Enumerable.Range(0, 64).Select(i => i % 2 == 0
            ? memory.AppendAsync("c" + (i % 8), "user", "during " + i)
            : (Task)memory.GetHistoryAsync("c" + (i % 8))).ToArray();
        var all = Task.WhenAll(calls);

        // None hangs: every call ends on its own, by the connection's failure or its 3 s timeout. The 60 s is only this
        // test's own deadline, so that a hang fails the test instead of the run; how fast a loaded machine gets there is
        // not what is tested.
        await Task.WhenAny(all).WaitAsync(TimeSpan.FromSeconds(60));
        // Observe the aggregate too: left unobserved, its finalizer raises UnobservedTaskException in whichever test
        // collects next (the outage test counts those, and failed CI on this one).
        Assert.NotNull(all.Exception);
        Assert.All(calls, call => Assert.True(
            call.Exception?.InnerException is RedisConnectionException or RedisTimeoutException,
            $"unexpected {call.Status}: {call.Exception?.InnerException?.GetType()}"));
        // A timeout, where one ended a call, is the one configured here (StackExchange.Redis names it in the message).
        Assert.All(calls.Select(c => c.Exception?.InnerException).OfType<RedisTimeoutException>(), e => Assert.Contains("timeout is 3000ms", e.Message, StringComparison.Ordinal));
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Appends_issued_while_the_thread_pool_is_starved_all_land_once_it_frees(string serverName)
    {
        // A process of its own (RactoGateway.Load starve) blocks every worker of its pool for 1.5 s, then issues 256
        // appends together: all but the first join rounds. None may be lost, fail or hang. (Its client timeouts are the
        // fixture's generous ones: a timeout is not what this test is about.)
        // (Nothing reaches Redis meanwhile: StackExchange.Redis 3.4's socket sends run on the pool too, raw calls alike.)
        const int Calls = 256;
        await using var bed = await TestBed.CreateAsync(serverName);
        using var child = LoadProcess.Start(["starve", bed.Server.ConnectionString, bed.Config.KeyPrefix, $"{Calls}"], redirectInput: true);
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Assert.Equal("issued", await child.StandardOutput.ReadLineAsync(timeout.Token));
            // The scenario's length, not a proxy: how long the pool stays blocked with the appends issued. No assertion
            // depends on what happens meanwhile (measured: nothing reaches Redis), and nothing in this process can see
            // the child's flush thread run, so there is no condition to wait on instead.
            await Task.Delay(1500);
            output.WriteLine($"{await bed.Raw.ListLengthAsync(bed.Key("c"))} of {Calls} appends in Redis after 1.5 s with the child's pool blocked");

            await child.StandardInput.WriteLineAsync("release");
            await child.StandardInput.FlushAsync();
            Assert.Equal($"done {Calls} 0", await child.StandardOutput.ReadLineAsync(timeout.Token));
        }
        finally
        {
            await LoadProcess.WaitForExitOrKillAsync(child, TimeSpan.FromSeconds(20));
            output.WriteLine(await stderr);
        }

        Assert.Equal(0, child.ExitCode);
        var stored = (await bed.Raw.ListRangeAsync(bed.Key("c"))).Select(e => (string)e!).ToList();
        Assert.Equal(Enumerable.Range(0, Calls).Select(n => $"{{\"role\":\"user\",\"content\":\"m{n}\"}}").Order(), stored.Order());
    }
}

using System.Diagnostics;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>A token cancelled while Redis has not answered ends the wait at once (the command itself may still run, as
/// documented); the pooled waits behind it are reused and keep every result apart, at scale.</summary>
[Collection(TimingCollection.Name)]
public class CancellationTests
{
    [Fact]
    public async Task Cancelling_while_the_server_is_paused_ends_the_wait_and_the_sent_append_still_lands()
    {
        // A server of its own: CLIENT PAUSE stops every client of a server.
        await using var server = await RedisServerProcess.StartNewAsync();
        await using var memory = new RedisChatMemory(((ITestServer)server).ConnectionString, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await using var admin = await ConnectionMultiplexer.ConnectAsync(((ITestServer)server).ConnectionString + ",allowAdmin=true");
        await memory.AppendAsync("c", "user", "before");
        await memory.GetHistoryAsync("c");

        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "PAUSE", "2000", "ALL");
        using var request = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();
        var append = memory.AppendAsync("c", "user", "sent, then abandoned", request.Token);
        var read = memory.GetHistoryAsync("c", request.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => append);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(1500), $"the wait ended after {clock.ElapsedMilliseconds} ms, not at the cancellation");

        // Once the pause ends the command that was sent runs: cancelling stopped the wait, not the append.
        var history = await memory.GetHistoryAsync("c");
        Assert.Equal(["before", "sent, then abandoned"], history.Select(m => m.Content));
    }

    [Theory, AllServers]
    public async Task Thousands_of_calls_with_live_tokens_return_each_its_own_result(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName, c => c.MaxTurns = 1000);
        using var request = new CancellationTokenSource();

        // 64 callers, 3,000 appends over 30 conversations, each read back through a wait from the pool.
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < 3000; i = Interlocked.Increment(ref next))
            {
                await bed.Memory.AppendAsync("c" + (i % 30), "user", "m" + i, request.Token);
                var history = await bed.Memory.GetHistoryAsync("c" + (i % 30), request.Token);
                Assert.Contains(history, m => m.Content == "m" + i);
                Assert.All(history, m => Assert.Equal(i % 30, int.Parse(m.Content[1..], System.Globalization.CultureInfo.InvariantCulture) % 30));
            }
        })));

        for (var c = 0; c < 30; c++)
        {
            Assert.Equal(100, await bed.Memory.CountAsync("c" + c, request.Token));
        }
    }
}

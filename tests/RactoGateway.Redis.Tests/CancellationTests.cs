using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>A token cancelled while Redis has not answered ends the wait at once (the command itself may still run, as
/// documented); the pooled waits behind it are reused and keep every result apart, at scale.</summary>
public class CancellationTests
{
    [Fact]
    public async Task Cancelling_while_the_server_is_paused_ends_the_wait_and_the_sent_append_still_lands()
    {
        // A server of its own: CLIENT PAUSE stops every client of a server. The memory's client is named, to find it in
        // CLIENT LIST. Its timeouts are the generous ones: only the cancellation can end these waits.
        await using var server = await RedisServerProcess.StartNewAsync();
        var name = "cancel-" + Guid.NewGuid().ToString("N");
        await using var memory = new RedisChatMemory(((ITestServer)server).ConnectionString + ",name=" + name, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await using var admin = await ConnectionMultiplexer.ConnectAsync(((ITestServer)server).ConnectionString + ",allowAdmin=true");
        var redis = admin.GetServer(admin.GetEndPoints()[0]);
        await memory.AppendAsync("c", "user", "before");
        await memory.GetHistoryAsync("c");

        // WRITE, not ALL: the append's EVALSHA is held (and the read queued behind it on the same socket with it), while
        // this admin connection can still look (CLIENT LIST, LLEN) and end the pause (CLIENT UNPAUSE is itself held
        // under ALL). Ten minutes: the pause ends when this test ends it, never by the clock.
        await redis.ExecuteAsync("CLIENT", "PAUSE", "600000", "WRITE");
        try
        {
            using var request = new CancellationTokenSource();
            var append = memory.AppendAsync("c", "user", "sent, then abandoned", request.Token);
            var read = memory.GetHistoryAsync("c", request.Token);

            // Cancel once the server holds the append (its client blocked by the pause), not after some delay.
            Assert.True(await PollAsync(async () => await IsHeldAsync(redis, name)), "the append never reached the paused server");
            await request.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => append);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);

            // The waits ended while the pause was still in force: the server still holds the append, unanswered.
            Assert.True(await IsHeldAsync(redis, name), "the server no longer held the append when the cancelled waits returned");
            Assert.Equal(1, await admin.GetDatabase().ListLengthAsync(memory.GetKey("c")));
        }
        finally
        {
            await redis.ExecuteAsync("CLIENT", "UNPAUSE");
        }

        // Once the pause ends the command that was sent runs: cancelling stopped the wait, not the append.
        Assert.True(await PollAsync(async () => await memory.CountAsync("c") == 2), "the abandoned append never landed");
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

    /// <summary>Whether the client named <paramref name="name"/> is blocked by the pause (CLIENT LIST flag <c>b</c>).</summary>
    private static async Task<bool> IsHeldAsync(IServer redis, string name) =>
        (await redis.ClientListAsync()).Any(c => c.Name == name && (c.FlagsRaw ?? "").Contains('b', StringComparison.Ordinal));

    /// <summary>Polls <paramref name="condition"/> until it holds, for at most 30 s (the test's own deadline).</summary>
    private static async Task<bool> PollAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                return false;
            }

            await Task.Delay(20, CancellationToken.None);
        }

        return true;
    }
}

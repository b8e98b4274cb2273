using System.Diagnostics;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Redis goes away under the same memory object and comes back: calls fail fast and documented, then work again.</summary>
public class OutageTests
{
    [Theory, AllServers]
    public async Task Calls_fail_within_the_timeout_while_down_and_succeed_again_after_restart(string serverName)
    {
        // The 3 s client timeout is set here: failing within it is what this test is about (the fixture's is 30 s).
        await using var server = await TestServers.StartNewAsync(serverName);
        await using var memory = new RedisChatMemory(server.ConnectionStringWithTimeout(TimeSpan.FromSeconds(3)), new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await memory.AppendAsync("c", "user", "before");

        await server.StopAsync();
        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => memory.AppendAsync("c", "user", "during"));
        var failedAfter = clock.Elapsed;
        Assert.True(failure is RedisConnectionException or RedisTimeoutException, $"unexpected {failure.GetType()}: {failure.Message}");
        // A bound, kept: "within the timeout" is the behaviour under test (3 s timeout, checked on SE.Redis's 1 s heartbeat).
        Assert.True(failedAfter < TimeSpan.FromSeconds(10), $"took {failedAfter}");
        Assert.ThrowsAny<Exception>(() => memory.Count("c"));

        await server.StartAsync();
        var recovered = await EventuallyAsync(async () =>
        {
            await memory.AppendAsync("c", "assistant", "after");
            return true;
        }, TimeSpan.FromSeconds(30));

        Assert.True(recovered, "the same memory object never worked again");
        var history = await memory.GetHistoryAsync("c");
        Assert.Equal("after", history[^1].Content);
    }

    [Fact]
    public async Task Constructing_while_redis_is_down_does_not_throw_and_works_once_it_starts()
    {
        var port = Loopback.FreePort();
        await using var memory = new RedisChatMemory($"127.0.0.1:{port},connectTimeout=500,syncTimeout=1000,asyncTimeout=1000");
        await Assert.ThrowsAnyAsync<RedisException>(() => memory.CountAsync("c"));

        await using var server = await RedisServerProcess.StartNewAt(port);

        Assert.True(await EventuallyAsync(async () => await memory.CountAsync("c") == 0, TimeSpan.FromSeconds(30)));
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> attempt, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            try
            {
                if (await attempt())
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
            }

            await Task.Delay(100);
        }

        return false;
    }
}

using System.Diagnostics;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Redis goes away under the same memory object and comes back: calls fail fast and documented, then work again.</summary>
public class OutageTests
{
    [Theory, AllServers]
    public async Task Calls_fail_within_the_timeout_while_down_and_succeed_again_after_restart(string serverName)
    {
        await using var server = await TestServers.StartNewAsync(serverName);
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("c", "user", "before");

        await server.StopAsync();
        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => bed.Memory.AppendAsync("c", "user", "during"));
        var failedAfter = clock.Elapsed;
        Assert.True(failure is RedisConnectionException or RedisTimeoutException, $"unexpected {failure.GetType()}: {failure.Message}");
        Assert.True(failedAfter < TimeSpan.FromSeconds(10), $"took {failedAfter}");
        Assert.ThrowsAny<Exception>(() => bed.Memory.Count("c"));

        await server.StartAsync();
        var recovered = await EventuallyAsync(async () =>
        {
            await bed.Memory.AppendAsync("c", "assistant", "after");
            return true;
        }, TimeSpan.FromSeconds(30));

        Assert.True(recovered, "the same memory object never worked again");
        var history = await bed.Memory.GetHistoryAsync("c");
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

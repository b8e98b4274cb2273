using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>The append script is sent by hash (EVALSHA), and by body only when the server has forgotten it.</summary>
public class ScriptTests
{
    [Fact]
    public async Task Appends_use_evalsha_and_survive_script_flush()
    {
        await using var server = await RedisServerProcess.StartNewAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(((ITestServer)server).ConnectionString + ",allowAdmin=true");
        await using var memory = new RedisChatMemory(((ITestServer)server).ConnectionString);
        var redis = admin.GetServer(admin.GetEndPoints()[0]);

        for (var i = 0; i < 10; i++)
        {
            await memory.AppendAsync("c", "user", $"m{i}");
        }

        // Only the hash travels; the body is sent once, when the server answers NOSCRIPT.
        Assert.Equal(1, await CallsAsync(redis, "eval"));
        Assert.Equal(10, await CallsAsync(redis, "evalsha"));

        await redis.ScriptFlushAsync();
        await memory.AppendAsync("c", "user", "after flush");
        memory.Append("c", "user", "sync after flush");
        Assert.Equal(2, await CallsAsync(redis, "eval"));

        Assert.Equal(12, await memory.CountAsync("c"));
        Assert.Equal(["after flush", "sync after flush"], (await memory.GetHistoryAsync("c")).TakeLast(2).Select(m => m.Content));
    }

    private static async Task<long> CallsAsync(IServer redis, string command)
    {
        var stats = await redis.InfoAsync("commandstats");
        var line = stats.SelectMany(g => g).FirstOrDefault(kv => kv.Key == "cmdstat_" + command).Value;
        return line is null ? 0 : long.Parse(line.Split(',')[0].Split('=')[1]);
    }
}

using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>The append script is sent by hash (EVALSHA) and reloaded when the server forgets it.</summary>
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

        // The first call sends the body (EVAL) and the client remembers its hash; the rest send only the hash.
        Assert.Equal(1, await CallsAsync(redis, "eval"));
        Assert.Equal(9, await CallsAsync(redis, "evalsha"));

        await redis.ScriptFlushAsync();
        await memory.AppendAsync("c", "user", "after flush");

        Assert.Equal(11, await memory.CountAsync("c"));
        Assert.Equal("after flush", (await memory.GetHistoryAsync("c"))[^1].Content);
    }

    private static async Task<long> CallsAsync(IServer redis, string command)
    {
        var stats = await redis.InfoAsync("commandstats");
        var line = stats.SelectMany(g => g).FirstOrDefault(kv => kv.Key == "cmdstat_" + command).Value;
        return line is null ? 0 : long.Parse(line.Split(',')[0].Split('=')[1]);
    }
}

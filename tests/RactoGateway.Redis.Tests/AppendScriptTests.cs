using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Scripts;

namespace RactoGateway.Redis.Tests;

/// <summary>The memory's append path (pooled EVALSHA, or the classic call on a cluster) returns append.lua's result.</summary>
public class AppendScriptTests
{
    [Theory, AllServers]
    public async Task The_append_reports_how_many_messages_it_stored(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var script = new AppendScript(bed.Config);
        var connection = new ChatConnection(bed.RawConnection);
        var key = bed.Key("c");
        ChatMemoryMessage[] batch = [new("user", "one") { MessageId = "m1" }, new("assistant", "two")];

        Assert.Equal(2, (await script.AppendAsync(connection, key, batch)).Stored);
        Assert.Equal(1, script.Append(connection, key, batch).Stored);
        Assert.Equal(1, (await script.AppendAsync(connection, key, [batch[0], new ChatMemoryMessage("user", "three")])).Stored);
        Assert.Equal(["one", "two", "two", "three"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));
    }
}

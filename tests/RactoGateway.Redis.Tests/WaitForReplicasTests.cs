namespace RactoGateway.Redis.Tests;

/// <summary><see cref="ChatMemoryConfig.WaitForReplicas"/>: WAIT after each append, a documented exception when too few replicas confirm.</summary>
public class WaitForReplicasTests
{
    [Fact]
    public async Task On_a_cluster_every_master_has_a_replica_so_appends_are_confirmed()
    {
        await using var bed = await TestBed.CreateAsync("cluster", c => c.WaitForReplicas = 1);

        for (var i = 0; i < 30; i++)
        {
            await bed.Memory.AppendAsync($"c{i}", "user", "async");
            bed.Memory.Append($"c{i}", "assistant", "sync");
        }

        Assert.Equal(["async", "sync"], (await bed.Memory.GetHistoryAsync("c7")).Select(m => m.Content));
    }

    [Fact]
    public async Task Without_replicas_the_append_is_stored_but_throws_ChatMemoryReplicationException_after_the_timeout()
    {
        await using var bed = await TestBed.CreateAsync("redis", c =>
        {
            c.WaitForReplicas = 1;
            c.WaitForReplicasTimeout = TimeSpan.FromMilliseconds(200);
        });

        var error = await Assert.ThrowsAsync<ChatMemoryReplicationException>(() => bed.Memory.AppendAsync("c", "user", "hi"));
        var syncError = Assert.Throws<ChatMemoryReplicationException>(() => bed.Memory.Append("c", "assistant", "there"));

        // Causally the timeout path, not a clock: WAIT answers before its timeout only once enough replicas acknowledged,
        // so fewer acknowledged than required means it answered at its timeout.
        Assert.Equal(1, error.Required);
        Assert.Equal(0, error.Acknowledged);
        Assert.Equal(0, syncError.Acknowledged);
        Assert.Equal(["hi", "there"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));
    }

    [Fact]
    public async Task Off_by_default()
    {
        Assert.Equal(0, new ChatMemoryConfig().WaitForReplicas);
        await using var bed = await TestBed.CreateAsync("redis");
        await bed.Memory.AppendAsync("c", "user", "no replicas needed");
        Assert.Equal(1, await bed.Memory.CountAsync("c"));
    }
}

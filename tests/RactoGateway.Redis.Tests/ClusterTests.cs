using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>On Redis Cluster, conversations spread over the slots of every master and each reads back whole.</summary>
public class ClusterTests
{
    [Fact]
    public async Task Conversations_spread_over_many_slots_and_masters_and_all_read_back()
    {
        var cluster = (RedisClusterProcess)await TestServers.GetAsync("cluster");
        await using var bed = await TestBed.CreateAsync(cluster);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString + ",allowAdmin=true");
        var ids = Enumerable.Range(0, 200).Select(i => $"conv-{i}").ToArray();

        await Task.WhenAll(ids.Select(async id =>
        {
            await bed.Memory.AppendAsync(id, "user", "q " + id);
            await bed.Memory.AppendAsync(id, "assistant", "a " + id);
        }));

        var slots = new HashSet<int>();
        var masters = new HashSet<string>();
        foreach (var id in ids)
        {
            var key = bed.Key(id);
            var slot = (int)await admin.GetDatabase().ExecuteAsync("CLUSTER", "KEYSLOT", key.ToString());
            Assert.Equal(bed.RawConnection.HashSlot(key), slot);
            slots.Add(slot);

            // Ask the node that owns the slot directly: the key is there, on a master.
            var endpoint = await bed.Raw.IdentifyEndpointAsync(key);
            Assert.NotNull(endpoint);
            var owner = bed.RawConnection.GetServer(endpoint);
            Assert.False(owner.IsReplica);
            Assert.Equal(1L, (long)await owner.ExecuteAsync("EXISTS", key));
            masters.Add(endpoint.ToString()!);

            var history = await bed.Memory.GetHistoryAsync(id);
            Assert.Equal(["q " + id, "a " + id], history.Select(m => m.Content));
        }

        Assert.True(slots.Count > 150, $"200 ids fell into only {slots.Count} slots");
        Assert.Equal(3, masters.Count);
    }

    [Fact]
    public async Task The_seed_list_may_name_any_node_and_the_client_finds_the_rest()
    {
        var cluster = (RedisClusterProcess)await TestServers.GetAsync("cluster");
        var prefix = TestServers.UniquePrefix();
        var oneSeed = $"127.0.0.1:{cluster.Nodes[4].Port}" + ITestServer.GenerousTimeouts; // not about timeouts
        await using var fromOne = new RedisChatMemory(oneSeed, new ChatMemoryConfig { KeyPrefix = prefix });
        await using var fromAll = new RedisChatMemory(cluster.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });

        for (var i = 0; i < 50; i++)
        {
            await fromOne.AppendAsync($"c{i}", "user", $"m{i}");
        }

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal($"m{i}", (await fromAll.GetHistoryAsync($"c{i}")).Single().Content);
        }

        Assert.Contains(",", fromAll.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_shared_server_list_includes_the_cluster() => Assert.Contains("cluster", TestServers.Names);
}

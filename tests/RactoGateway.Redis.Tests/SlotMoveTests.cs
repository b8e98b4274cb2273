using System.Net;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// When a conversation's slot moves to another master (resharding, or a failover the client has not seen yet), the MOVED
/// reply must be followed, for every kind of call. StackExchange.Redis 3.4.35's ExecuteRespAsync cannot follow it (it
/// fails the call and poisons the connection), so on a cluster the memory uses the classic calls.
/// </summary>
public class SlotMoveTests
{
    [Theory, AllServers]
    public async Task Pooled_replies_are_used_except_on_a_cluster(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        await bed.Memory.AppendAsync("c", "user", "hi");

        Assert.Equal(serverName != "cluster", bed.Memory.Connections.All[0].UsesRespReplies);
        Assert.Single(await bed.Memory.GetHistoryAsync("c"));
    }

    /// <summary>Runs on a cluster of its own, since it moves slots.</summary>
    [Fact]
    public async Task Calls_follow_a_slot_that_moved_to_another_master()
    {
        await using var cluster = await RedisClusterProcess.StartNewAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString + ",allowAdmin=true");
        var config = new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), MaxTurns = 5 };
        await using var memory = new RedisChatMemory(cluster.ConnectionString, config);
        await memory.AppendAsync("c", "user", "one");
        var key = (RedisKey)memory.GetKey("c");

        // Each step moves the slot behind the memory's back, then makes one kind of call, which meets MOVED first.
        var steps = new (string Name, Func<Task> Call)[]
        {
            ("async read", async () => Assert.Single(await memory.GetHistoryAsync("c"))),
            ("async append", () => memory.AppendAsync("c", "assistant", "two")),
            ("sync read", () =>
            {
                Assert.Equal(2, memory.GetHistory("c").Count);
                return Task.CompletedTask;
            }),
            ("sync append", () =>
            {
                memory.Append("c", "user", "three");
                return Task.CompletedTask;
            }),
        };
        foreach (var (name, call) in steps)
        {
            await MoveSlotAsync(admin, key);
            var error = await Record.ExceptionAsync(call);
            Assert.True(error is null, $"{name} after a slot move: {error}");
        }

        Assert.Equal(["one", "two", "three"], (await memory.GetHistoryAsync("c")).Select(m => m.Content));
    }

    /// <summary>Moves the key's slot (and the key) from its master to another one, as redis-cli --cluster reshard does.</summary>
    private static async Task MoveSlotAsync(ConnectionMultiplexer admin, RedisKey key)
    {
        var slot = admin.HashSlot(key);
        // Fresh from CLUSTER NODES: the admin connection's own view is as stale as the memory's after a move.
        var configuration = (await admin.GetServer(admin.GetEndPoints()[0]).ClusterNodesAsync())!;
        var source = configuration.GetBySlot(slot)!;
        var target = configuration.Nodes.First(n => !n.IsReplica && n.NodeId != source.NodeId);
        var sourceServer = admin.GetServer(source.EndPoint!);
        var targetServer = admin.GetServer(target.EndPoint!);
        await targetServer.ExecuteAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", source.NodeId);
        await sourceServer.ExecuteAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", target.NodeId);
        var endpoint = (IPEndPoint)target.EndPoint!;
        await sourceServer.ExecuteAsync("MIGRATE", endpoint.Address.ToString(), endpoint.Port, "", 0, 5000, "KEYS", key.ToString());

        // The new owner first (it bumps its config epoch, so its claim outranks gossip the old owner sent before the
        // move), then the old owner, then the other masters, as CLUSTER SETSLOT's documentation orders them. In any other
        // order, a master told first can take a late ping of the old owner for the newer word and point MOVED back at it.
        foreach (var master in configuration.Nodes.Where(n => !n.IsReplica).OrderBy(n => n.NodeId == target.NodeId ? 0 : n.NodeId == source.NodeId ? 1 : 2))
        {
            await admin.GetServer(master.EndPoint!).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", target.NodeId);
        }

        // A move is over when every node, replicas included (they learn it by gossip), names the new owner: until then a
        // call can meet two MOVED replies in a row, and StackExchange.Redis follows one. Waited on as a condition.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var node in configuration.Nodes)
        {
            while ((await admin.GetServer(node.EndPoint!).ClusterNodesAsync())!.GetBySlot(slot)?.NodeId != target.NodeId)
            {
                Assert.True(DateTime.UtcNow < deadline, $"node {node.EndPoint} still names another owner of slot {slot} 30 s after the move");
                await Task.Delay(20);
            }
        }
    }
}

using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>ChatMemoryReplyBufferPool: a lease returns its array once, however often it is disposed, and replies held in
/// its arrays reach every concurrent reader intact on a multiplexer the application configured itself.</summary>
public class ReplyBufferPoolTests
{

    [Theory, AllServers]
    public async Task Concurrent_reads_on_a_borrowed_multiplexer_with_the_pool_each_get_their_own_window(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var options = ConfigurationOptions.Parse(server.ConnectionString);
        options.ResponseBufferPool = ChatMemoryReplyBufferPool.Instance;
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
        await using var memory = new RedisChatMemory(multiplexer, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), MaxTurns = 20 });

        // 16 conversations of 40 messages, each message naming its conversation; 256 reads of them at once, 8 rounds.
        for (var c = 0; c < 16; c++)
        {
            await memory.AppendManyAsync("c" + c, Enumerable.Range(0, 40).Select(i => new ChatMemoryMessage(i % 2 == 0 ? "user" : "assistant", $"c{c} m{i} " + new string('x', 400))));
        }

        for (var round = 0; round < 8; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 256).Select(async r =>
            {
                var c = r % 16;
                var history = await memory.GetHistoryAsync("c" + c);
                Assert.Equal(40, history.Count);
                Assert.All(history, (m, i) => Assert.StartsWith($"c{c} m{i} ", m.Content, StringComparison.Ordinal));
            }));
        }
    }
}

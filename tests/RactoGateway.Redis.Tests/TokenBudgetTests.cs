using RactoGateway.Redis.Tokenizers;

namespace RactoGateway.Redis.Tests;

/// <summary>GetHistoryAsync(conversationId, maxTokens): the newest suffix that fits, under the same window rules.</summary>
public class TokenBudgetTests
{
    /// <summary>One token per character of content, plus one per message: easy to reason about.</summary>
    private sealed class CharCounter : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => 1 + message.Content.Length;
    }

    [Theory, AllServers]
    public async Task Returns_the_newest_messages_that_fit(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.TokenCounter = new CharCounter());
        await bed.Memory.AppendManyAsync("c", [new("user", "aaaa"), new("assistant", "bbbb"), new("user", "cc"), new ChatMemoryMessage("assistant", "d")]);

        Assert.Equal(["cc", "d"], (await bed.Memory.GetHistoryAsync("c", 5)).Select(m => m.Content));
        Assert.Equal(["bbbb", "cc", "d"], (await bed.Memory.GetHistoryAsync("c", 10)).Select(m => m.Content));
        Assert.Empty(await bed.Memory.GetHistoryAsync("c", 0));
        Assert.Equal(4, (await bed.Memory.GetHistoryAsync("c", 1000)).Count);
        Assert.Equal(4, await bed.Memory.CountAsync("c"));
        Assert.Equal(["cc", "d"], bed.Memory.GetHistory("c", 5).Select(m => m.Content));
    }

    [Theory, AllServers]
    public async Task Pinned_system_messages_are_always_returned_and_tool_groups_stay_whole(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.TokenCounter = new CharCounter();
            c.Window.PinSystemMessages = true;
            c.Window.ToolCallAware = true;
        });
        var call = new ChatMemoryMessage("assistant", "") { ToolCalls = [new ChatMemoryToolCall("k", "f", "{}")] };
        var result = new ChatMemoryMessage("tool", "rrrr") { ToolCallId = "k" };
        await bed.Memory.AppendManyAsync("c", [new("system", "sys"), new("assistant", "hello"), call, result, new ChatMemoryMessage("assistant", "x")]);

        // 4 (system) + 2 (x) fit in 9; the tool result (5) would, but not without its call: both go.
        Assert.Equal(["sys", "x"], (await bed.Memory.GetHistoryAsync("c", 9)).Select(m => m.Content));
        Assert.Equal(["sys", "", "rrrr", "x"], (await bed.Memory.GetHistoryAsync("c", 12)).Select(m => m.Content));
        Assert.Equal(["sys"], (await bed.Memory.GetHistoryAsync("c", 0)).Select(m => m.Content));
    }

    [Fact]
    public async Task Without_a_counter_or_with_a_negative_budget_it_throws_before_io()
    {
        await using var memory = new RedisChatMemory($"127.0.0.1:{Loopback.FreePort()},connectTimeout=200");
        await using var counted = new RedisChatMemory($"127.0.0.1:{Loopback.FreePort()},connectTimeout=200", new ChatMemoryConfig { TokenCounter = new CharCounter() });

        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => memory.GetHistoryAsync("c", 100));
        Assert.Contains("TokenCounter", missing.Message);
        Assert.Equal("maxTokens", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => counted.GetHistoryAsync("c", -1))).ParamName);
    }

    [Fact]
    public void The_o200k_counter_counts_real_tokens()
    {
        var counter = O200kTokenCounter.Instance;

        Assert.Equal(2, counter.CountTokens("Hello world"));
        Assert.Equal(4 + 2, counter.CountTokens(new ChatMemoryMessage("user", "Hello world")));
        Assert.True(counter.CountTokens(new ChatMemoryMessage("assistant", "") { ToolCalls = [new("c", "get_weather", """{"city":"Paris"}""")] }) > 8);
        Assert.Same(O200kTokenCounter.Instance, new ChatMemoryConfig().UseO200kTokenCounter().TokenCounter);
    }
}

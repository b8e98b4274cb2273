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

    // Defect 3 (issue 9): with PinSystemMessages and without ToolCallAware, the budget dropped the call alone and
    // returned its result: [system, tool(k), assistant], which a provider refuses.
    [Theory, AllServers]
    public async Task A_budget_never_returns_a_tool_result_without_its_call_whatever_the_window_rule(string server)
    {
        foreach (var (pin, aware) in new[] { (true, false), (false, false), (true, true), (false, true) })
        {
            await using var bed = await TestBed.CreateAsync(server, c =>
            {
                c.TokenCounter = new CharCounter();
                c.Window.PinSystemMessages = pin;
                c.Window.ToolCallAware = aware;
            });
            var call = new ChatMemoryMessage("assistant", "") { ToolCalls = [new ChatMemoryToolCall("k", "f", "{}")] };
            var result = new ChatMemoryMessage("tool", "rrrr") { ToolCallId = "k" };
            await bed.Memory.AppendManyAsync("c", [new("system", "sys"), new("user", "q"), call, result, new ChatMemoryMessage("assistant", "x")]);

            // 4 + 2 + 1 + 5 + 2 = 14 tokens. Pinned, within 11 the user message goes, then the call, and its result with it.
            if (pin)
            {
                Assert.Equal(["sys", "x"], (await bed.Memory.GetHistoryAsync("c", 11)).Select(m => m.Content));
                Assert.Equal(["sys", "", "rrrr", "x"], (await bed.Memory.GetHistoryAsync("c", 12)).Select(m => m.Content));
            }

            foreach (var budget in Enumerable.Range(0, 16))
            {
                var history = await bed.Memory.GetHistoryAsync("c", budget);
                Assert.All(history.Where(m => m.Role == "tool"), r => Assert.Contains(history.TakeWhile(m => m != r), m => m.ToolCalls?.Any(t => t.Id == r.ToolCallId) == true));
            }

            var model = new StrictChatClient();
            foreach (var budget in Enumerable.Range(0, 16))
            {
                await model.GetResponseAsync([.. await bed.Memory.GetChatMessagesAsync("c", budget), new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "next")]);
            }

            Assert.Empty(model.Rejections);
        }
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

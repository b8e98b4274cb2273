using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Agents.Tests;

/// <summary>A real <see cref="ChatClientAgent"/> with <c>UseRedisRecall(recall, new() { Mode = OnDemand })</c>: the run's
/// context offers the <c>search_memory</c> tool bound to the session's conversation; the agent's own function invocation
/// runs it when the strict scripted model calls it; the fact, hundreds of turns old and summarized, comes back and is
/// answered with; the exchange is stored by the Redis history provider, and later runs stay valid as the window slides.</summary>
public sealed class RecallOnDemandAgentTests
{
    private const string Fact = "My dog is called Biscuit.";
    private const string Question = "Do you remember the name of my pet?";
    private const string Answer = "You told me: " + Fact;

    [Theory, VectorServersAndStreaming]
    public async Task On_demand_the_model_searches_memory_through_the_agent_and_answers(string server, bool streaming)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 3;
            c.Summarize = true;
            c.Window.ToolCallAware = true;
        }, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));
        var summarizer = new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = (_, _, n) => new ChatResponse(new ChatMessage(ChatRole.Assistant, $"Summary {n}.")) });
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();
        var model = new StrictChatClient(ProviderDialect.OpenAI | ProviderDialect.Anthropic)
        {
            Responder = SearchMemoryReplies.Responder(Question, "dog called", "My dog is called "),
        };
        var agent = model.AsAIAgent(new ChatClientAgentOptions
        {
            Name = "assistant",
            ChatOptions = new ChatOptions { Tools = [AIFunctionFactory.Create((string city) => "21C", "get_weather")] },
        }.UseRedisChatHistory(bed.Memory).UseRedisRecall(recall, new RedisRecallContextProviderOptions { Mode = ChatMemoryRecallMode.OnDemand }));
        var session = await agent.CreateSessionAsync();
        var id = agent.Provider().GetConversationId(session);

        Assert.Equal("echo: " + Fact, await agent.RunTextAsync(Fact, session, streaming));
        for (var i = 0; i < 200; i++)
        {
            await bed.Memory.AppendTurnAsync(id, $"I like hiking in the mountains, day {i}.", $"Noted {i}.");
            if (i % 50 == 49)
            {
                await summarizer.SummarizePendingAsync(id);
            }
        }

        Assert.Equal(Answer, await agent.RunTextAsync(Question, session, streaming));

        // The model was offered the tool (beside the agent's own), and nothing was injected automatically.
        Assert.Equal(["get_weather", "search_memory"], LastTools(model));
        var stored = (await bed.Memory.GetHistoryAsync(id)).TakeLast(4).ToList();
        Assert.Equal(["user", "assistant", "tool", "assistant"], stored.Select(m => m.Role));
        Assert.Equal("search_memory", Assert.Single(stored[1].ToolCalls!).Name);
        Assert.Equal(stored[1].ToolCalls![0].Id, stored[2].ToolCallId);
        Assert.StartsWith("{\"recalled\":[{\"role\":\"user\",\"text\":\"" + Fact + "\"", stored[2].Content, StringComparison.Ordinal);
        Assert.Equal(Answer, stored[3].Content);

        // The window slides over the exchange (a weather tool exchange too): every request stays valid.
        Assert.Equal("It is 21C.", await agent.RunTextAsync("weather in Paris?", session, streaming));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal($"echo: more {i}", await agent.RunTextAsync($"more {i}", session, streaming));
        }

        await summarizer.SummarizePendingAsync(id);
        Assert.Equal(Answer, await agent.RunTextAsync(Question, session, streaming));
        Assert.Empty(model.Rejections);
        Assert.All(model.Calls, sent => Assert.DoesNotContain(sent, m => m.Text.Contains(ChatMemoryRecall.ContextHeading, StringComparison.Ordinal)));
    }

    private static List<string> LastTools(StrictChatClient model) => [.. model.Tools[^1].Select(t => t.Name).Order(StringComparer.Ordinal)];

    [Theory, VectorServers]
    public async Task Both_modes_together_put_the_recalled_context_in_the_instructions_and_offer_the_tool(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Summarize = true;
        }, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));
        var summarizer = new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = (_, _, n) => new ChatResponse(new ChatMessage(ChatRole.Assistant, $"Summary {n}.")) });
        var model = new StrictChatClient(ProviderDialect.OpenAI | ProviderDialect.Anthropic)
        {
            Responder = SearchMemoryReplies.Responder(Question, "dog called", "My dog is called "),
        };
        var instructions = new List<string?>();
        var client = new ChatClientBuilder(model).Use(async (messages, options, next, cancellationToken) =>
        {
            lock (instructions)
            {
                instructions.Add(options?.Instructions);
            }

            await next(messages, options, cancellationToken);
        }).Build();
        var agent = client.AsAIAgent(new ChatClientAgentOptions { Name = "assistant" }
            .UseRedisChatHistory(bed.Memory)
            .UseRedisRecall(bed.Memory.GetRequiredService<ChatMemoryRecall>(), new() { Mode = ChatMemoryRecallMode.Both, Top = 2 }));
        var session = await agent.CreateSessionAsync();
        var id = agent.Provider().GetConversationId(session);
        await bed.Memory.AppendTurnAsync(id, Fact, "Lovely.");
        for (var i = 0; i < 20; i++)
        {
            await bed.Memory.AppendTurnAsync(id, $"I like hiking in the mountains, day {i}.", $"Noted {i}.");
        }

        await summarizer.SummarizePendingAsync(id);

        Assert.Equal(Answer, await agent.RunTextAsync(Question, session, streaming: false));
        Assert.Empty(model.Rejections);
        Assert.Equal(2, model.Calls.Count);
        Assert.All(model.Tools, tools => Assert.Contains(tools, t => t.Name == "search_memory"));
        Assert.All(instructions, text => Assert.Contains(ChatMemoryRecall.ContextHeading, text, StringComparison.Ordinal));
    }

    [Theory, VectorServers]
    public async Task Bad_modes_and_tool_settings_are_refused_when_the_provider_is_made(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Summarize = true, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();

        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new RedisRecallContextProvider(recall, new() { Mode = (ChatMemoryRecallMode)9 })).ParamName);
        var badTool = Assert.Throws<ArgumentException>(() => new RedisRecallContextProvider(recall, new() { Mode = ChatMemoryRecallMode.Both, SearchTool = new() { MaxTop = 0 } }));
        Assert.Contains("ChatMemorySearchToolOptions.MaxTop", badTool.Message, StringComparison.Ordinal);

        // Automatic mode ignores the tool's settings, as before.
        _ = new RedisRecallContextProvider(recall, new() { SearchTool = new() { MaxTop = 0 } });
    }
}

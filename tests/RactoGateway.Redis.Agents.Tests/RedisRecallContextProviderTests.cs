using System.Runtime.CompilerServices;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Agents.Tests;

/// <summary>A real <see cref="ChatClientAgent"/> with its history in Redis and <c>UseRedisRecall</c>: recalled messages
/// reach the model in the run's instructions, which a chat client sends as its system prompt; the strict provider test
/// model (OpenAI and Anthropic rules) accepts every request, streamed or not, with tool calls in the window.</summary>
public sealed class RedisRecallContextProviderTests
{
    private static readonly string[] Chatter =
    [
        "I like hiking in the mountains.", "Can you recommend a pasta recipe?", "My favourite colour is green.",
        "I work as a nurse at night.", "We went to Lisbon last spring.", "Tell me a joke about cats.",
    ];

    private static async Task<(TestBed Bed, ChatMemorySummarizer Summarizer, ChatMemoryRecall Recall)> CreateAsync(string server)
    {
        var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Summarize = true;
            c.Window.ToolCallAware = true;
            c.Window.PinSystemMessages = true;
        }, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();
        return (bed, new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold }), recall);
    }

    private static ChatClientAgent NewAgent(IChatClient client, TestBed bed, ChatMemoryRecall recall, ListLogger<RedisRecallContextProvider>? log = null) =>
        client.AsAIAgent(new ChatClientAgentOptions
        {
            Name = "assistant",
            ChatOptions = new ChatOptions { Instructions = "Be brief.", Tools = [AIFunctionFactory.Create((string city) => "21C", "get_weather")] },
        }.UseRedisChatHistory(bed.Memory).UseRedisRecall(recall, new RedisRecallContextProviderOptions { Top = 3 }, log));

    /// <summary>A pinned prompt, a fact, then chatter that pushes the fact out of the window (pending, then indexed).</summary>
    private static async Task SeedAsync(TestBed bed, ChatMemorySummarizer summarizer, string id)
    {
        await bed.Memory.AppendAsync(id, "system", "You are terse.");
        await bed.Memory.AppendTurnAsync(id, "My dog is called Biscuit.", "What a lovely name.");
        foreach (var text in Chatter)
        {
            await bed.Memory.AppendTurnAsync(id, text, "Noted.");
        }

        Assert.True(await summarizer.SummarizePendingAsync(id) > 0);
    }

    [Theory]
    [InlineData(ProviderDialect.OpenAI, false)]
    [InlineData(ProviderDialect.OpenAI, true)]
    [InlineData(ProviderDialect.OpenAI | ProviderDialect.Anthropic, false)]
    [InlineData(ProviderDialect.OpenAI | ProviderDialect.Anthropic, true)]
    public async Task Recalled_messages_reach_the_model_in_the_instructions_and_every_request_is_valid(ProviderDialect dialect, bool streaming)
    {
        var (bed, summarizer, recall) = await CreateAsync("garnet-vector");
        await using var _ = bed;
        var model = new StrictChatClient(dialect);
        var adapter = new InstructionsAsSystemPrompt(model);
        var agent = NewAgent(adapter, bed, recall);
        var session = await agent.CreateSessionAsync();
        var id = agent.Provider().GetConversationId(session);
        await SeedAsync(bed, summarizer, id);

        Assert.Equal("It is 21C.", await agent.RunTextAsync("weather in Paris for my dog?", session, streaming));
        Assert.Equal("echo: What is my dog called?", await agent.RunTextAsync("What is my dog called?", session, streaming));

        Assert.Empty(model.Rejections);
        Assert.Equal(3, model.Calls.Count);

        // The system prompt (agent instructions, then the recalled context), the pinned prompt and summary from Redis,
        // the window with its tool exchange, the question.
        Assert.Equal(
            ["system", "system", "system", "user", "assistant", "tool", "assistant", "user"],
            model.Calls[^1].Select(m => m.Role.Value));
        var instructions = adapter.Instructions[^1]!;
        Assert.StartsWith("Be brief.", instructions, StringComparison.Ordinal);
        var context = instructions[instructions.IndexOf(ChatMemoryRecall.ContextHeading, StringComparison.Ordinal)..].Split('\n');
        Assert.Equal("- user: My dog is called Biscuit.", context[1]);   // the oldest recalled message comes first
        Assert.InRange(context.Length, 2, 4);
        Assert.All(context.Skip(1), l => Assert.Matches("^- (user|assistant): ", l));
        Assert.All(adapter.Instructions, i => Assert.Contains(ChatMemoryRecall.ContextHeading, i, StringComparison.Ordinal));
        Assert.Equal("You are terse.", model.Calls[^1][1].Text);

        // Instructions are transient: Redis holds the conversation only.
        var stored = await bed.Memory.GetHistoryAsync(id);
        Assert.DoesNotContain(stored, m => m.Content.Contains(ChatMemoryRecall.ContextHeading, StringComparison.Ordinal));
        Assert.Equal(["What is my dog called?", "echo: What is my dog called?"], stored.TakeLast(2).Select(m => m.Content));
    }

    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("valkey")]
    public async Task Without_vector_sets_the_agent_runs_and_nothing_is_added(string server)
    {
        var (bed, summarizer, recall) = await CreateAsync(server);
        await using var _ = bed;
        var model = new StrictChatClient(ProviderDialect.OpenAI | ProviderDialect.Anthropic);
        var adapter = new InstructionsAsSystemPrompt(model);
        var log = new ListLogger<RedisRecallContextProvider>();
        var agent = NewAgent(adapter, bed, recall, log);
        var session = await agent.CreateSessionAsync();
        await SeedAsync(bed, summarizer, agent.Provider().GetConversationId(session));

        Assert.Equal("It is 21C.", await agent.RunTextAsync("weather in Paris?", session, streaming: false));
        Assert.Equal("echo: What is my dog called?", await agent.RunTextAsync("What is my dog called?", session, streaming: true));

        Assert.Empty(model.Rejections);
        Assert.All(adapter.Instructions, i => Assert.Equal("Be brief.", i));
        var skipped = Assert.Single(log.Entries, e => e.Id.Name == "RecallSkipped");
        Assert.Contains("Redis 8 or later", skipped.Message, StringComparison.Ordinal);
    }

    [Theory, VectorServers]
    public async Task Nothing_is_added_when_nothing_is_recalled_and_a_selector_picks_the_conversation(string serverName)
    {
        var (bed, summarizer, recall) = await CreateAsync(serverName);
        await using var _ = bed;
        await SeedAsync(bed, summarizer, "user-7");
        var adapter = new InstructionsAsSystemPrompt(new StrictChatClient());
        var agent = adapter.AsAIAgent(new ChatClientAgentOptions { ChatOptions = new() { Instructions = "Be brief." } }
            .UseRedisChatHistory(bed.Memory)
            .UseRedisRecall(recall, new() { Top = 1, ConversationIdSelector = (_, session) => session is null ? null : "user-7" }));

        // A fresh session's own conversation has nothing indexed; the selector points recall at user-7's.
        await agent.RunAsync("What is my dog called?", await agent.CreateSessionAsync());
        var plain = adapter.AsAIAgent(new ChatClientAgentOptions { ChatOptions = new() { Instructions = "Be brief." } }
            .UseRedisChatHistory(bed.Memory)
            .UseRedisRecall(recall));
        await plain.RunAsync("What is my dog called?", await plain.CreateSessionAsync());

        var first = adapter.Instructions[0]!;
        Assert.StartsWith("Be brief.", first, StringComparison.Ordinal);
        Assert.EndsWith(ChatMemoryRecall.ContextHeading + "\n- user: My dog is called Biscuit.", first, StringComparison.Ordinal);
        Assert.Equal("Be brief.", adapter.Instructions[1]);
    }

    [Theory, VectorServers]
    public async Task Bad_input_is_refused_with_the_parameter_named(string serverName)
    {
        var (bed, _, recall) = await CreateAsync(serverName);
        await using var _ = bed;

        Assert.Equal("recall", Assert.Throws<ArgumentNullException>(() => new RedisRecallContextProvider(null!)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new RedisRecallContextProvider(recall, new() { Top = 0 })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new RedisRecallContextProvider(recall, new() { Top = ChatMemoryRecall.MaxTop + 1 })).ParamName);
        Assert.Equal("agentOptions", Assert.Throws<ArgumentNullException>(() => ((ChatClientAgentOptions)null!).UseRedisRecall(recall)).ParamName);
        Assert.Equal("recall", Assert.Throws<ArgumentNullException>(() => new ChatClientAgentOptions().UseRedisRecall(null!)).ParamName);

        // No Redis history on the agent and no selector: said on the first run.
        var agent = new StrictChatClient().AsAIAgent(new ChatClientAgentOptions().UseRedisRecall(recall));
        var session = await agent.CreateSessionAsync();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => agent.RunAsync("hi", session));
        Assert.Contains("UseRedisChatHistory", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Sends <see cref="ChatOptions.Instructions"/> as M.E.AI's OpenAI adapter does: a system message before
    /// all others (Anthropic's adapter makes it the top-level system prompt, which the same check covers).</summary>
    private sealed class InstructionsAsSystemPrompt(IChatClient inner) : DelegatingChatClient(inner)
    {
        public List<string?> Instructions { get; } = [];

        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            base.GetResponseAsync(Prompted(messages, options), Without(options), cancellationToken);

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var update in base.GetStreamingResponseAsync(Prompted(messages, options), Without(options), cancellationToken))
            {
                yield return update;
            }
        }

        private List<ChatMessage> Prompted(IEnumerable<ChatMessage> messages, ChatOptions? options)
        {
            lock (Instructions)
            {
                Instructions.Add(options?.Instructions);
            }

            return options?.Instructions is { Length: > 0 } text ? [new ChatMessage(ChatRole.System, text), .. messages] : [.. messages];
        }

        private static ChatOptions? Without(ChatOptions? options)
        {
            if (options?.Instructions is null)
            {
                return options;
            }

            var copy = options.Clone();
            copy.Instructions = null;
            return copy;
        }
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>builder.UseChatMemory(memory, o => o.RecallTop = k): recalled messages reach the model as one marked system
/// context message the strict provider test model accepts (OpenAI and Anthropic rules), streamed or not, with tool calls
/// in the window, pinned system messages and the rolling summary; never stored; skipped on servers without vector sets.</summary>
public sealed class RecallMiddlewareTests
{
    private static readonly string[] Chatter =
    [
        "I like hiking in the mountains.", "Can you recommend a pasta recipe?", "My favourite colour is green.",
        "I work as a nurse at night.", "We went to Lisbon last spring.", "Tell me a joke about cats.",
    ];

    private static readonly AIFunction Weather = AIFunctionFactory.Create((string city) => "21C", "get_weather");

    private static async Task<(TestBed Bed, ChatMemorySummarizer Summarizer, ListLogger<ChatMemoryRecall> Log)> CreateAsync(string server)
    {
        var log = new ListLogger<ChatMemoryRecall>();
        var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Summarize = true;
            c.Window.ToolCallAware = true;
            c.Window.PinSystemMessages = true;
        }, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator(), log));
        return (bed, new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold }), log);
    }

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

    private static async Task<string> AskAsync(IChatClient client, string text, ChatOptions options, bool streaming) => streaming
        ? (await client.GetStreamingResponseAsync(text, options).ToChatResponseAsync()).Text
        : (await client.GetResponseAsync(text, options)).Text;

    private static bool IsContext(ChatMessage message) => message.AdditionalProperties?.TryGetValue(ChatMemoryRecall.ContextPropertyName, out var v) == true && v is true;

    [Theory]
    [InlineData(ProviderDialect.OpenAI, false)]
    [InlineData(ProviderDialect.OpenAI, true)]
    [InlineData(ProviderDialect.OpenAI | ProviderDialect.Anthropic, false)]
    [InlineData(ProviderDialect.OpenAI | ProviderDialect.Anthropic, true)]
    public async Task Recalled_messages_reach_the_model_as_one_context_message_every_provider_accepts(ProviderDialect dialect, bool streaming)
    {
        var (bed, summarizer, _) = await CreateAsync("garnet-vector");
        await using var _ = bed;
        await SeedAsync(bed, summarizer, "c");
        var model = new StrictChatClient(dialect);
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory, o => o.RecallTop = 3).UseFunctionInvocation().Build();
        var options = new ChatOptions { ConversationId = "c", Tools = [Weather] };

        // A tool loop with the context in place: the call, then the follow-up with the call and its result.
        Assert.Equal("It is 21C.", await AskAsync(client, "weather in Paris for my dog?", options, streaming));

        // Now the window holds that tool exchange, after the pinned prompt and the summary.
        Assert.Equal("echo: What is my dog called?", await AskAsync(client, "What is my dog called?", options, streaming));

        Assert.Empty(model.Rejections);
        Assert.Equal(3, model.Calls.Count);
        var sent = model.Calls[^1];
        Assert.Equal(
            ["system", "system", "system", "user", "assistant", "tool", "assistant", "user"],
            sent.Select(m => m.Role.Value));
        Assert.Equal("You are terse.", sent[0].Text);
        Assert.Equal(true, sent[1].AdditionalProperties?[ChatMessageConversions.SummaryProperty]);
        Assert.True(IsContext(sent[2]));
        Assert.Single(sent, IsContext);
        var lines = sent[2].Text.Split('\n');
        Assert.Equal(ChatMemoryRecall.ContextHeading, lines[0]);
        Assert.Equal("- user: My dog is called Biscuit.", lines[1]);   // the oldest recalled message comes first
        Assert.InRange(lines.Length, 2, 4);
        Assert.All(lines.Skip(1), l => Assert.Matches("^- (user|assistant): ", l));
        Assert.Contains(sent[4].Contents, c => c is FunctionCallContent);

        // Both calls of the tool loop carried the context; the context itself is never stored.
        Assert.All(model.Calls, call => Assert.Single(call, IsContext));
        var stored = await bed.Memory.GetHistoryAsync("c");
        Assert.DoesNotContain(stored, m => m.Content.StartsWith(ChatMemoryRecall.ContextHeading, StringComparison.Ordinal));
        Assert.All(await bed.Memory.GetChatMessagesAsync("c"), m => Assert.False(IsContext(m)));
    }

    [Theory, VectorServers]
    public async Task Nothing_is_injected_when_nothing_is_recalled(string serverName)
    {
        var (bed, _, _) = await CreateAsync(serverName);
        await using var _ = bed;
        var model = new StrictChatClient(ProviderDialect.OpenAI | ProviderDialect.Anthropic);
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory, o => o.RecallTop = 5).Build();
        var options = new ChatOptions { ConversationId = "new" };

        await client.GetResponseAsync("hello", options);
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "image/png")])], options);

        Assert.All(model.Calls, call => Assert.DoesNotContain(call, IsContext));
        Assert.Equal(["user"], model.Calls[0].Select(m => m.Role.Value));
    }

    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("valkey")]
    public async Task Without_vector_sets_the_chat_works_and_nothing_is_injected(string server)
    {
        var (bed, summarizer, log) = await CreateAsync(server);
        await using var _ = bed;
        await SeedAsync(bed, summarizer, "c");
        var model = new StrictChatClient(ProviderDialect.OpenAI | ProviderDialect.Anthropic);
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory, o => o.RecallTop = 3).UseFunctionInvocation().Build();
        var options = new ChatOptions { ConversationId = "c", Tools = [Weather] };

        Assert.Equal("It is 21C.", await AskAsync(client, "weather in Paris?", options, streaming: false));
        Assert.Equal("echo: What is my dog called?", await AskAsync(client, "What is my dog called?", options, streaming: true));

        Assert.Empty(model.Rejections);
        Assert.All(model.Calls, call => Assert.DoesNotContain(call, IsContext));
        var skipped = Assert.Single(log.Entries, e => e.Id.Name == "RecallSkipped");
        Assert.Contains("Redis 8 or later", skipped.Message, StringComparison.Ordinal);
        var stored = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(["What is my dog called?", "echo: What is my dog called?"], stored.TakeLast(2).Select(m => m.Content));
    }

    [Theory, VectorServers]
    public async Task The_recall_can_come_from_dependency_injection(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var services = new ServiceCollection().AddRedisChatMemory(server.ConnectionString, c =>
        {
            c.KeyPrefix = TestServers.UniquePrefix();
            c.MaxTurns = 1;
            c.Summarize = true;
        }).AddRecall();
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(new WordHashEmbeddingGenerator());
        var model = new StrictChatClient();
        services.AddChatClient(model).UseChatMemory(configure: o => o.RecallTop = 1);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();   // builds the pipeline, which resolves the recall (and so the memory)
        var memory = provider.GetRequiredService<RedisChatMemory>();
        await memory.AppendTurnAsync("di", "My dog is called Biscuit.", "Lovely.");
        await memory.AppendTurnAsync("di", "I like pasta.", "Noted.");
        await new ChatMemorySummarizer(memory, new StrictChatClient { Responder = FoldReplies.Fold }).SummarizePendingAsync("di");

        await client.GetResponseAsync("What is my dog called?", new ChatOptions { ConversationId = "di" });

        Assert.Equal(
            ChatMemoryRecall.ContextHeading + "\n- user: My dog is called Biscuit.",
            Assert.Single(model.Calls[0], IsContext).Text);
    }

    [Fact]
    public void RecallTop_is_validated_before_any_io()
    {
        using var memory = new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"), new ChatMemoryConfig { Summarize = true });
        var options = new ChatMemoryChatClientOptions();
        Assert.Equal("RecallTop", Assert.Throws<ArgumentOutOfRangeException>(() => options.RecallTop = 0).ParamName);
        Assert.Equal("RecallTop", Assert.Throws<ArgumentOutOfRangeException>(() => options.RecallTop = ChatMemoryChatClientOptions.MaxRecallTop + 1).ParamName);
        options.RecallTop = ChatMemoryChatClientOptions.MaxRecallTop;
        options.RecallTop = null;

        // RecallTop with no recall anywhere: refused when the client is made, not on the first chat.
        var missing = Assert.Throws<ArgumentException>(() => new ChatMemoryChatClient(new StrictChatClient(), memory, new() { RecallTop = 3 }));
        Assert.Equal("options", missing.ParamName);
        Assert.Contains("ChatMemoryRecall", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ChatClientBuilder(new StrictChatClient()).UseChatMemory(memory, o => o.RecallTop = 3).Build());

        // Composed into the memory: found there.
        using var composed = new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"), new ChatMemoryConfig { Summarize = true })
        {
            Features = new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()),
        };
        using var client = new ChatMemoryChatClient(new StrictChatClient(), composed, new() { RecallTop = 3 });
    }
}

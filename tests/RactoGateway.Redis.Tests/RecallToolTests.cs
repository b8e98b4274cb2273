using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>Recall on demand: the <c>search_memory</c> tool (<see cref="ChatMemoryRecall.CreateSearchTool"/>) offered by
/// the middleware (<see cref="ChatMemoryChatClientOptions.RecallMode"/>), called by a scripted strict provider model
/// through <see cref="FunctionInvokingChatClient"/>, streaming on and off, on both servers with vector sets: a fact
/// stated hundreds of turns earlier, long out of the window and summarized, comes back and is answered with; the call
/// and its result are stored like any other tool exchange, and every request built afterwards from the sliding window
/// is one a provider accepts (no orphan tool result once the call has left the window).</summary>
public sealed class RecallToolTests
{
    private const string Fact = "My dog is called Biscuit.";
    // No word of the question is in the model's query ("dog called"), so the question, asked again and again, is never
    // found in place of the fact.
    private const string Question = "Do you remember the name of my pet?";
    private const int ChatterTurns = 300;

    private const string Answer = "You told me: " + Fact;

    private static readonly DateTimeOffset FactTime = new(2026, 3, 14, 9, 26, 53, TimeSpan.Zero);

    private static readonly string[] Chatter =
    [
        "I like hiking in the mountains.", "Can you recommend a pasta recipe?", "My favourite colour is green.",
        "I work as a nurse at night.", "We went to Lisbon last spring.", "Tell me a joke about cats.",
        "The weather was rainy yesterday.", "I am reading a novel about sailors.",
    ];

    private static async Task<(TestBed Bed, ChatMemorySummarizer Summarizer)> CreateAsync(string server)
    {
        var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 3;
            c.Summarize = true;
            c.Window.ToolCallAware = true;
            c.Window.PinSystemMessages = true;
        }, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));

        // The summary model: a short summary per fold, so requests stay small at hundreds of turns.
        var summaryModel = new StrictChatClient { Responder = (_, _, n) => new ChatResponse(new ChatMessage(ChatRole.Assistant, $"Summary {n}.")) };
        return (bed, new ChatMemorySummarizer(bed.Memory, summaryModel));
    }

    /// <summary>The scripted model: asked <see cref="Question"/> with the tool offered, it searches for "dog called" and
    /// answers with the fact found ("I could not find it." otherwise).</summary>
    private static StrictChatClient NewModel() => new(ProviderDialect.OpenAI | ProviderDialect.Anthropic)
    {
        Responder = SearchMemoryReplies.Responder(Question, "dog called", "My dog is called "),
    };

    private static string ResultText(FunctionResultContent result) => SearchMemoryReplies.Text(result);

    private static async Task<string> AskAsync(IChatClient client, ChatMessage message, ChatOptions options, bool streaming) => streaming
        ? (await client.GetStreamingResponseAsync([message], options).ToChatResponseAsync()).Text
        : (await client.GetResponseAsync([message], options)).Text;

    /// <summary>Chatter appended straight to the memory (the bulk of the hundreds of turns), summarized as it goes.</summary>
    private static async Task ChatterAsync(TestBed bed, ChatMemorySummarizer summarizer, string id, int turns)
    {
        for (var i = 0; i < turns; i++)
        {
            await bed.Memory.AppendTurnAsync(id, $"{Chatter[i % Chatter.Length]} ({i})", $"Noted {i}.");
            if (i % 50 == 49)
            {
                await summarizer.SummarizePendingAsync(id);
            }
        }

        await summarizer.SummarizePendingAsync(id);
    }

    [Theory, VectorServersAndStreaming]
    public async Task The_model_searches_memory_for_a_fact_from_hundreds_of_turns_ago_and_answers_with_it(string server, bool streaming)
    {
        var (bed, summarizer) = await CreateAsync(server);
        await using var _ = bed;
        var model = NewModel();
        using var client = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory, o => o.RecallMode = ChatMemoryRecallMode.OnDemand)
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions { ConversationId = "c" };
        await bed.Memory.AppendAsync("c", "system", "You are terse.");

        // The fact, through the middleware; then hundreds of turns push it out of the window, into the summary and the index.
        Assert.Equal("echo: " + Fact, await AskAsync(client, new ChatMessage(ChatRole.User, Fact) { CreatedAt = FactTime }, options, streaming));
        await ChatterAsync(bed, summarizer, "c", ChatterTurns);
        Assert.DoesNotContain(await bed.Memory.GetHistoryAsync("c"), m => m.Content == Fact);

        // The model calls search_memory, gets the fact back with its role and time, and answers with it.
        Assert.Equal(Answer, await AskAsync(client, new ChatMessage(ChatRole.User, Question), options, streaming));
        var followUp = model.Calls[^1];
        var call = Assert.Single(followUp[^2].Contents.OfType<FunctionCallContent>());
        Assert.Equal(ChatMemorySearchToolOptions.DefaultName, call.Name);
        var result = Assert.Single(followUp[^1].Contents.OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        using (var json = JsonDocument.Parse(ResultText(result)))
        {
            var hits = json.RootElement.GetProperty("recalled").EnumerateArray().ToList();
            Assert.InRange(hits.Count, 1, 3);
            var fact = hits[0];
            Assert.Equal("user", fact.GetProperty("role").GetString());
            Assert.Equal(Fact, fact.GetProperty("text").GetString());
            Assert.Equal("2026-03-14T09:26:53Z", fact.GetProperty("time").GetString());
            Assert.Equal("c", fact.GetProperty("conversation").GetString());
            Assert.True(fact.GetProperty("position").GetInt64() >= 0);
            Assert.False(fact.TryGetProperty("score", out var _));
        }

        // The exchange is stored like any other, in order.
        var stored = await bed.Memory.GetHistoryAsync("c");
        var last4 = stored.TakeLast(4).ToList();
        Assert.Equal(["user", "assistant", "tool", "assistant"], last4.Select(m => m.Role));
        Assert.Equal(Question, last4[0].Content);
        Assert.Equal(call.CallId, Assert.Single(last4[1].ToolCalls!).Id);
        Assert.Equal(ChatMemorySearchToolOptions.DefaultName, last4[1].ToolCalls![0].Name);
        Assert.Equal(call.CallId, last4[2].ToolCallId);
        Assert.StartsWith("{\"recalled\":[{\"role\":\"user\",\"text\":\"My dog is called Biscuit.\"", last4[2].Content, StringComparison.Ordinal);
        Assert.Equal(Answer, last4[3].Content);

        // The window slides over the exchange, through the middleware: every request stays valid (the strict model
        // refuses an orphan tool result), and once summarized the exchange's result is not indexed again.
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal($"echo: more {i}", await AskAsync(client, new ChatMessage(ChatRole.User, $"more {i}"), options, streaming));
            if (i % 4 == 3)
            {
                await summarizer.SummarizePendingAsync("c");
            }
        }

        Assert.DoesNotContain(await bed.Memory.GetHistoryAsync("c"), m => m.Role == "tool" || m.ToolCalls is not null);
        Assert.Equal(Answer, await AskAsync(client, new ChatMessage(ChatRole.User, Question), options, streaming));
        using (var json = JsonDocument.Parse(ResultText(Assert.Single(model.Calls[^1][^1].Contents.OfType<FunctionResultContent>()))))
        {
            var texts = json.RootElement.GetProperty("recalled").EnumerateArray().Select(h => h.GetProperty("text").GetString()!).ToList();
            Assert.Equal(Fact, texts[0]);
            Assert.DoesNotContain(texts, t => t.StartsWith("{\"recalled\":", StringComparison.Ordinal));
        }

        Assert.Empty(model.Rejections);
        Assert.All(model.Calls, sent => Assert.Null(ProviderRules.Check(sent, ProviderDialect.OpenAI | ProviderDialect.Anthropic)));
        Assert.All(model.Calls, sent => Assert.DoesNotContain(sent, m => m.AdditionalProperties?.ContainsKey(ChatMemoryRecall.ContextPropertyName) == true));
    }

    [Theory, VectorServers]
    public async Task Both_modes_together_inject_context_and_offer_the_tool(string server)
    {
        var (bed, summarizer) = await CreateAsync(server);
        await using var _ = bed;
        var model = NewModel();
        using var client = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory, o => { o.RecallMode = ChatMemoryRecallMode.Both; o.RecallTop = 2; })
            .UseFunctionInvocation()
            .Build();
        await bed.Memory.AppendTurnAsync("c", Fact, "Lovely.");
        await ChatterAsync(bed, summarizer, "c", 40);

        Assert.Equal(Answer, await AskAsync(client, new ChatMessage(ChatRole.User, Question), new ChatOptions { ConversationId = "c" }, streaming: false));

        Assert.Empty(model.Rejections);
        Assert.Equal(2, model.Calls.Count);
        Assert.All(model.Calls, sent => Assert.Single(sent, m => m.AdditionalProperties?.ContainsKey(ChatMemoryRecall.ContextPropertyName) == true));
    }

    [Theory, VectorServers]
    public async Task The_owner_scope_searches_every_conversation_of_the_owner(string server)
    {
        var (bed, summarizer) = await CreateAsync(server);
        await using var _ = bed;
        var owners = bed.Memory.GetRequiredService<ChatMemoryOwners>();
        await owners.SetOwnerAsync("monday", "ana");
        await owners.SetOwnerAsync("tuesday", "ana");
        await owners.SetOwnerAsync("stranger", "bob");
        await bed.Memory.AppendTurnAsync("monday", Fact, "Lovely.");
        await ChatterAsync(bed, summarizer, "monday", 10);
        await bed.Memory.AppendTurnAsync("stranger", "My dog is called Rex.", "Fine.");
        await ChatterAsync(bed, summarizer, "stranger", 10);

        var model = NewModel();
        using var client = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory, o => { o.RecallMode = ChatMemoryRecallMode.OnDemand; o.SearchTool = new() { Scope = ChatMemorySearchScope.Owner }; })
            .UseFunctionInvocation()
            .Build();

        Assert.Equal(Answer, await AskAsync(client, new ChatMessage(ChatRole.User, Question), new ChatOptions { ConversationId = "tuesday" }, streaming: true));
        using var json = JsonDocument.Parse(ResultText(Assert.Single(model.Calls[^1][^1].Contents.OfType<FunctionResultContent>())));
        var hits = json.RootElement.GetProperty("recalled").EnumerateArray().ToList();
        Assert.Equal("monday", hits[0].GetProperty("conversation").GetString());
        Assert.All(hits, h => Assert.Equal("monday", h.GetProperty("conversation").GetString()));   // never bob's

        // The conversation scope, from "tuesday": nothing there has left the window; the model says so.
        using var plain = new ChatClientBuilder(model).UseChatMemory(bed.Memory, o => o.RecallMode = ChatMemoryRecallMode.OnDemand).UseFunctionInvocation().Build();
        Assert.Equal("I could not find it.", await AskAsync(plain, new ChatMessage(ChatRole.User, Question), new ChatOptions { ConversationId = "tuesday" }, streaming: false));
        Assert.Empty(model.Rejections);
    }

    [Theory, VectorServers]
    public async Task A_tool_of_your_own_finds_the_conversation_from_the_function_invoking_client(string server)
    {
        var (bed, summarizer) = await CreateAsync(server);
        await using var _ = bed;
        await bed.Memory.AppendTurnAsync("c", Fact, "Lovely.");
        await ChatterAsync(bed, summarizer, "c", 10);
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();
        var model = NewModel();

        // Function invocation outside the memory: it sees ChatOptions.ConversationId, and the tool reads it from there.
        using var client = new ChatClientBuilder(model).UseFunctionInvocation().UseChatMemory(bed.Memory).Build();
        var options = new ChatOptions { ConversationId = "c", Tools = [recall.CreateSearchTool()] };
        Assert.Equal(Answer, await AskAsync(client, new ChatMessage(ChatRole.User, Question), options, streaming: false));
        Assert.Equal(Answer, await AskAsync(client, new ChatMessage(ChatRole.User, Question), options, streaming: true));
        Assert.Empty(model.Rejections);

        // Called with no conversation anywhere: a tool error the model reads, not a crash.
        var orphan = await recall.CreateSearchTool().InvokeAsync(new AIFunctionArguments { ["query"] = "dog" });
        Assert.Contains("does not know which conversation", Assert.IsType<string>(orphan), StringComparison.Ordinal);
    }

    [Theory, InlineData("redis"), InlineData("valkey")]
    public async Task Without_vector_sets_the_tool_answers_with_an_error_the_model_reads(string server)
    {
        var (bed, _) = await CreateAsync(server);
        await using var _ = bed;
        var model = NewModel();
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory, o => o.RecallMode = ChatMemoryRecallMode.OnDemand).UseFunctionInvocation().Build();

        Assert.Equal("I could not find it.", await AskAsync(client, new ChatMessage(ChatRole.User, Question), new ChatOptions { ConversationId = "c" }, streaming: false));

        var result = Assert.Single(model.Calls[^1][^1].Contents.OfType<FunctionResultContent>());
        using var json = JsonDocument.Parse(ResultText(result));
        Assert.Contains("Redis 8 or later", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(model.Rejections);
        Assert.Equal(["user", "assistant", "tool", "assistant"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Role));
    }
}

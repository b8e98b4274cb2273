using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Agents.Tests;

public sealed class RedisChatHistoryProviderTests
{
    [Theory, AllServers]
    public async Task Run_StoresRequestAndResponseInRedis(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var agent = AgentHarness.NewAgent(new StrictChatClient(), bed.Memory);
        var session = await agent.CreateSessionAsync();

        var response = await agent.RunAsync("Hello", session);

        Assert.Equal("echo: Hello", response.Text);
        var id = agent.Provider().GetConversationId(session);
        Assert.Equal(2, await bed.Raw.ListLengthAsync(bed.Key(id)));
        var stored = await bed.Memory.GetChatMessagesAsync(id);
        Assert.Equal(["user: Hello", "assistant: echo: Hello"], stored.Lines());

        // The framework's per-run source tag is not part of the conversation, so it is not stored.
        Assert.All(stored, m => Assert.Null(m.AdditionalProperties));
    }

    [Theory, AllServers]
    public async Task SecondRun_SendsTheEarlierTurnsToTheModel(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory);
        var session = await agent.CreateSessionAsync();

        await agent.RunAsync("Hello", session);
        await agent.RunAsync("Again", session);

        Assert.Equal(["user: Hello", "assistant: echo: Hello", "user: Again"], client.Calls[1].Lines());
        Assert.Equal(4, await bed.Memory.CountAsync(agent.Provider().GetConversationId(session)));
    }

    [Theory, AllServers]
    public async Task SessionsOfOneAgent_HaveConversationsOfTheirOwn(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory);
        var first = await agent.CreateSessionAsync();
        var second = await agent.CreateSessionAsync();

        await agent.RunAsync("one", first);
        await agent.RunAsync("two", second);

        Assert.NotEqual(agent.Provider().GetConversationId(first), agent.Provider().GetConversationId(second));
        Assert.Equal(["user: two"], client.Calls[1].Lines());
    }

    [Theory, AllServers]
    public async Task SerializedSession_ResumedInAnotherProcess_ContinuesTheSameConversation(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var agent = AgentHarness.NewAgent(new StrictChatClient(), bed.Memory);
        var session = await agent.CreateSessionAsync();
        await agent.RunAsync("Hello", session);
        var id = agent.Provider().GetConversationId(session);
        string saved = (await agent.SerializeSessionAsync(session)).GetRawText();

        // The session carries the conversation id, not the messages: those stay in Redis.
        Assert.Contains(id, saved, StringComparison.Ordinal);
        Assert.DoesNotContain("echo: Hello", saved, StringComparison.Ordinal);

        // "Another process": a new memory on its own connection, a new model client, a new agent.
        await using var replica = bed.NewReplica();
        var client = new StrictChatClient();
        var resumedAgent = AgentHarness.NewAgent(client, replica);
        using var json = JsonDocument.Parse(saved);
        var resumed = await resumedAgent.DeserializeSessionAsync(json.RootElement);

        var response = await resumedAgent.RunAsync("Again", resumed);

        Assert.Equal("echo: Again", response.Text);
        Assert.Equal(id, resumedAgent.Provider().GetConversationId(resumed));
        Assert.Equal(["user: Hello", "assistant: echo: Hello", "user: Again"], client.Calls[0].Lines());
        Assert.Equal(4, await bed.Memory.CountAsync(id));
    }

    [Theory, AllServers]
    public async Task SetConversationId_ContinuesAConversationBegunElsewhere(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendTurnAsync("support-42", "My order is late.", "Sorry, checking.");
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory);
        var session = await agent.CreateSessionAsync();

        agent.Provider().SetConversationId(session, "support-42");
        await agent.RunAsync("Any news?", session);

        Assert.Equal(["user: My order is late.", "assistant: Sorry, checking.", "user: Any news?"], client.Calls[0].Lines());
        Assert.Equal(4, await bed.Memory.CountAsync("support-42"));
    }

    [Theory, AllServers]
    public async Task Window_MaxTurns_BoundsWhatIsStoredAndSent(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 2);
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory);
        var session = await agent.CreateSessionAsync();

        foreach (var text in new[] { "one", "two", "three", "four" })
        {
            await agent.RunAsync(text, session);
        }

        Assert.Equal(["user: two", "assistant: echo: two", "user: three", "assistant: echo: three", "user: four"], client.Calls[3].Lines());
        var stored = await bed.Memory.GetChatMessagesAsync(agent.Provider().GetConversationId(session));
        Assert.Equal(["user: three", "assistant: echo: three", "user: four", "assistant: echo: four"], stored.Lines());
    }

    [Theory, AllServers]
    public async Task MaxTokens_SendsOnlyTheNewestHistoryThatFits(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.TokenCounter = new TenTokensPerMessage());
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory, new RedisChatHistoryProviderOptions { MaxTokens = 25 });
        var session = await agent.CreateSessionAsync();

        await agent.RunAsync("one", session);
        await agent.RunAsync("two", session);
        await agent.RunAsync("three", session);

        Assert.Equal(["user: two", "assistant: echo: two", "user: three"], client.Calls[2].Lines());
        Assert.Equal(6, await bed.Memory.CountAsync(agent.Provider().GetConversationId(session)));   // storage is not cut by the budget
    }

    [Theory, AllServers]
    public async Task FunctionCallingRun_StoresTheToolCallAndResult_AndHistoryNeverStartsWithAnOrphanToolMessage(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Window.ToolCallAware = true;
        });
        var client = new StrictChatClient();
        var cities = new List<string>();
        var weather = AIFunctionFactory.Create((string city) => { cities.Add(city); return "21C"; }, "get_weather");
        var agent = AgentHarness.NewAgent(client, bed.Memory, tools: [weather]);
        var session = await agent.CreateSessionAsync();
        var id = agent.Provider().GetConversationId(session);

        var response = await agent.RunAsync("weather in Paris", session);

        Assert.Equal("It is 21C.", response.Text);
        Assert.Equal(["Paris"], cities);
        var stored = await bed.Memory.GetHistoryAsync(id);
        Assert.Equal(["user", "assistant", "tool", "assistant"], stored.Select(m => m.Role));
        var call = Assert.Single(stored[1].ToolCalls!);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city":"Paris"}""", call.Arguments);
        Assert.Equal(call.Id, stored[2].ToolCallId);
        Assert.Equal("21C", stored[2].Content);

        // Two more messages overflow the 4-message window. The seed rule would keep [tool, assistant, user, assistant],
        // an orphan tool result a model rejects; ToolCallAware drops the whole weather exchange instead.
        await agent.RunAsync("Thanks", session);
        await agent.RunAsync("Bye", session);

        Assert.Equal(["user: Thanks", "assistant: echo: Thanks", "user: Bye"], client.Calls[^1].Lines());
        Assert.All(client.Calls, sent => Assert.NotEqual(ChatRole.Tool, sent[0].Role));
        Assert.Equal(ChatRoles.User, (await bed.Memory.GetHistoryAsync(id))[0].Role);
    }

    [Theory, AllServers]
    public async Task SeedRule_AWindowCutInsideAToolExchange_NeverReachesTheModel(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 2);
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory, tools: [AIFunctionFactory.Create((string city) => "21C", "get_weather")]);
        var session = await agent.CreateSessionAsync();
        var id = agent.Provider().GetConversationId(session);

        await agent.RunAsync("weather in Paris", session);
        await agent.RunAsync("Thanks", session);
        var stored = await bed.Memory.GetHistoryAsync(id);
        var response = await agent.RunAsync("Bye", session);

        // Storage keeps the seed rule's list, which Python readers share: it begins with the weather result. The model
        // gets the history without that orphan, so the strict model accepts every request.
        Assert.Empty(client.Rejections);
        Assert.Equal("echo: Bye", response.Text);
        Assert.Equal(["tool", "assistant", "user", "assistant"], stored.Select(m => m.Role));
        Assert.Equal(["assistant: It is 21C.", "user: Thanks", "assistant: echo: Thanks", "user: Bye"], client.Calls[^1].Lines());
    }

    [Theory, AllServers]
    public async Task FailingModel_StoresNothing(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var client = new StrictChatClient();
        var agent = AgentHarness.NewAgent(client, bed.Memory);
        var session = await agent.CreateSessionAsync();
        var id = agent.Provider().GetConversationId(session);
        await agent.RunAsync("Hello", session);

        client.Failure = new InvalidOperationException("model down");
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => agent.RunAsync("Lost?", session));

        Assert.Equal("model down", thrown.Message);
        Assert.Equal(["user: Hello", "assistant: echo: Hello"], (await bed.Memory.GetChatMessagesAsync(id)).Lines());
    }

    [Theory, AllServers]
    public async Task FailingModel_OnAFirstRun_CreatesNoConversation(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var agent = AgentHarness.NewAgent(new StrictChatClient { Failure = new TimeoutException() }, bed.Memory);
        var session = await agent.CreateSessionAsync();

        await Assert.ThrowsAsync<TimeoutException>(() => agent.RunAsync("Hello", session));

        Assert.False(await bed.Raw.KeyExistsAsync(bed.Key(agent.Provider().GetConversationId(session))));
    }

    [Theory, AllServers]
    public async Task StreamingRun_StoresTheAssembledResponse(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var agent = AgentHarness.NewAgent(new StrictChatClient(), bed.Memory);
        var session = await agent.CreateSessionAsync();

        var text = "";
        await foreach (var update in agent.RunStreamingAsync("Hello", session))
        {
            text += update.Text;
        }

        Assert.Equal("echo: Hello", text);
        var stored = await bed.Memory.GetChatMessagesAsync(agent.Provider().GetConversationId(session));
        Assert.Equal(["user: Hello", "assistant: echo: Hello"], stored.Lines());
    }

    [Theory, AllServers]
    public async Task ConversationIdFactory_NamesNewConversations(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var options = new RedisChatHistoryProviderOptions { ConversationIdFactory = _ => "user-7" };
        var agent = AgentHarness.NewAgent(new StrictChatClient(), bed.Memory, options);
        var session = await agent.CreateSessionAsync();

        await agent.RunAsync("Hello", session);

        Assert.Equal("user-7", agent.Provider().GetConversationId(session));
        Assert.Equal(2, await bed.Memory.CountAsync("user-7"));
    }

    [Theory, AllServers]
    public async Task BadInput_IsRefusedWithTheParameterNamed(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var provider = new RedisChatHistoryProvider(bed.Memory);
        var session = await AgentHarness.NewAgent(new StrictChatClient(), bed.Memory).CreateSessionAsync();

        Assert.Equal("memory", Assert.Throws<ArgumentNullException>(() => new RedisChatHistoryProvider(null!)).ParamName);
        Assert.Equal("agentOptions", Assert.Throws<ArgumentNullException>(() => ((ChatClientAgentOptions)null!).UseRedisChatHistory(bed.Memory)).ParamName);
        Assert.Equal("memory", Assert.Throws<ArgumentNullException>(() => new ChatClientAgentOptions().UseRedisChatHistory(null!)).ParamName);
        Assert.Equal("session", Assert.Throws<ArgumentNullException>(() => provider.GetConversationId(null!)).ParamName);
        Assert.Equal("conversationId", Assert.Throws<ArgumentNullException>(() => provider.SetConversationId(session, null!)).ParamName);
        Assert.Equal("conversationId", Assert.Throws<ArgumentException>(() => provider.SetConversationId(session, " ")).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new RedisChatHistoryProvider(bed.Memory, new() { MaxTokens = -1 })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new RedisChatHistoryProvider(bed.Memory, new() { StateKey = "" })).ParamName);

        // A budget without a token counter is refused up front, not on the first run.
        var noCounter = Assert.Throws<ArgumentException>(() => new RedisChatHistoryProvider(bed.Memory, new() { MaxTokens = 100 }));
        Assert.Contains("TokenCounter", noCounter.Message, StringComparison.Ordinal);
    }

    [Theory, AllServers]
    public async Task ContextProviderMessages_AreStoredWithoutTheFrameworksSourceTag(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var client = new StrictChatClient();
        var options = new ChatClientAgentOptions { AIContextProviders = [new PlanNote()] }.UseRedisChatHistory(bed.Memory);
        var agent = client.AsAIAgent(options);
        var session = await agent.CreateSessionAsync();

        await agent.RunAsync("Hello", session);

        // The note reached the model tagged as context-provided; the tag describes that run only, so Redis gets the
        // message without it (M.E.AI's JSON options could not store the tag's type anyway).
        Assert.Contains("user: plan: free", client.Calls[0].Lines());
        var stored = await bed.Memory.GetChatMessagesAsync(agent.Provider().GetConversationId(session));
        Assert.Contains("user: plan: free", stored.Lines());
        Assert.All(stored, m => Assert.Null(m.AdditionalProperties));
    }

    private sealed class PlanNote : AIContextProvider
    {
        protected override ValueTask<AIContext> ProvideAIContextAsync(InvokingContext context, CancellationToken cancellationToken = default) =>
            new(new AIContext { Messages = [new ChatMessage(ChatRole.User, "plan: free")] });
    }

    private sealed class TenTokensPerMessage : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => 10;
    }
}

using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The HTTP path end to end: Microsoft.Extensions.AI's OpenAI adapter and <c>chatmem chat --endpoint</c> against the
/// strict model's loopback OpenAI-compatible endpoint, through windows small enough to trim inside tool exchanges.
/// Every request the endpoint refuses would fail the test with the provider's 400 error.
/// </summary>
public sealed class ModelEndToEndTests
{
    /// <summary>The offline echo assistant's answer: "echo #{user messages sent}: {last user text}".</summary>
    public static ChatResponse EchoNumbered(IReadOnlyList<ChatMessage> sent, ChatOptions? options, int number) =>
        new(new ChatMessage(ChatRole.Assistant,
            $"echo #{sent.Count(m => m.Role == ChatRole.User)}: {sent.LastOrDefault(m => m.Role == ChatRole.User)?.Text}"));

    public static TheoryData<string, bool, bool, int> Cases()
    {
        var cases = new TheoryData<string, bool, bool, int>();
        foreach (var server in new[] { "redis", "garnet" })
        {
            foreach (var streaming in new[] { false, true })
            {
                foreach (var memoryOutside in new[] { true, false })
                {
                    foreach (var maxTurns in new[] { 1, 2 })
                    {
                        cases.Add(server, streaming, memoryOutside, maxTurns);
                    }
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_OpenAI_adapter_with_tool_calls_through_a_small_window_sends_only_valid_requests(
        string server, bool streaming, bool memoryOutsideFunctionInvocation, int maxTurns)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = maxTurns);
        await using var endpoint = LoopbackOpenAIServer.Start();
        using var openAi = new OpenAI.Chat.ChatClient("strict-test-model", new ApiKeyCredential("test-key"), new OpenAIClientOptions { Endpoint = endpoint.BaseUrl })
            .AsIChatClient();
        var builder = new ChatClientBuilder(openAi);
        builder = memoryOutsideFunctionInvocation
            ? builder.UseChatMemory(bed.Memory).UseFunctionInvocation()
            : builder.UseFunctionInvocation().UseChatMemory(bed.Memory);
        using var client = builder.Build();
        var cities = new List<string>();
        var options = new ChatOptions
        {
            ConversationId = "e2e",
            Tools = [AIFunctionFactory.Create((string city) => { cities.Add(city); return city == "Rome" ? "25C" : "21C"; }, "get_weather")],
        };

        var replies = new List<string>();
        foreach (var text in new[] { "weather in Paris?", "thanks", "weather in Rome?", "weather in Paris?", "bye" })
        {
            replies.Add(streaming
                ? (await client.GetStreamingResponseAsync(text, options).ToChatResponseAsync()).Text
                : (await client.GetResponseAsync(text, options)).Text);
        }

        Assert.Empty(endpoint.Model.Rejections);
        // The OpenAI adapter sends a function result as JSON: the string 21C arrives as "21C".
        Assert.Equal(["It is \"21C\".", "echo: thanks", "It is \"25C\".", "It is \"21C\".", "echo: bye"], replies);
        Assert.Equal(["Paris", "Rome", "Paris"], cities);
        Assert.Equal(8, endpoint.Model.Calls.Count);
        Assert.Contains(endpoint.RequestBodies, b => b.Contains("\"stream\":true", StringComparison.Ordinal) == streaming);
        var stored = await bed.Memory.GetHistoryAsync("e2e");
        Assert.Equal(["user", "assistant"], stored.TakeLast(2).Select(m => m.Role));
        Assert.Equal("bye", stored[^2].Content);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("garnet")]
    public async Task Chatmem_chat_against_the_endpoint_continues_a_conversation_whose_window_cut_a_tool_exchange(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        var model = new StrictChatClient { Responder = EchoNumbered };
        await using var endpoint = LoopbackOpenAIServer.Start(model);

        // A service (the seed rule, window of 4) stored a weather exchange with a tool call.
        var config = new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 2 };
        await using (var memory = new RedisChatMemory(server.ConnectionString, config))
        {
            await memory.AppendManyAsync("c",
            [
                new ChatMessage(ChatRole.User, "weather in Paris?"),
                new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
                new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call_1", "21C")]),
                new ChatMessage(ChatRole.Assistant, "It is 21C."),
            ]);
        }

        var run = await Chatmem.RunAsync(null, "thanks\nbye\nagain\n", [
            "--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, "--max-turns", "2",
            "chat", "c", "--endpoint", endpoint.BaseUrl.ToString(), "--model", "strict-test-model", "--api-key", "k"]);

        Assert.True(run.Code == 0, $"chatmem chat exited {run.Code}: {run.Stderr}");
        Assert.Empty(model.Rejections);
        Assert.Equal(["echo #2: thanks", "echo #2: bye", "echo #3: again"], run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // "bye" was sent after the window cut the exchange: storage began with the orphan result, the model never saw it.
        Assert.Equal(["assistant", "user", "assistant", "user"], model.Calls[1].Select(m => m.Role.Value));
        Assert.All(endpoint.RequestBodies, b => Assert.Contains("\"stream\":true", b, StringComparison.Ordinal));
        await using var check = new RedisChatMemory(server.ConnectionString, config);
        Assert.Equal(["bye", "echo #2: bye", "again", "echo #3: again"], (await check.GetHistoryAsync("c")).Select(m => m.Content));
    }
}

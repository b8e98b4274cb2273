using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace RactoGateway.Redis.Tests;

/// <summary>builder.UseChatMemory(memory): history in, new messages out, atomically, for plain and streaming calls. The
/// model is the strict provider test model: a request a provider would refuse fails the test with the provider's error.</summary>
public class ChatClientMiddlewareTests
{
    [Theory, AllServers]
    public async Task History_is_prepended_and_the_exchange_stored(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new StrictChatClient();
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory).Build();
        var options = new ChatOptions { ConversationId = "c1" };

        var first = await client.GetResponseAsync("hello", options);
        var second = await client.GetResponseAsync("again", options);

        Assert.Equal("echo: hello", first.Text);
        Assert.Equal("c1", second.ConversationId);
        Assert.Equal(["hello", "echo: hello", "again"], model.Calls[1].Select(m => m.Text));
        Assert.Equal(
            [new("user", "hello"), new("assistant", "echo: hello"), new("user", "again"), new ChatMemoryMessage("assistant", "echo: again")],
            (await bed.Memory.GetHistoryAsync("c1")).Select(m => m with { MessageId = null, Timestamp = null }));
        Assert.Equal("c1", options.ConversationId);
    }

    [Theory, AllServers]
    public async Task Tool_calls_and_results_are_stored_with_the_exchange(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Window.ToolCallAware = true);
        var model = new StrictChatClient(ProviderDialect.OpenAI | ProviderDialect.Anthropic);
        using var client = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory)
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions { ConversationId = "w", Tools = [AIFunctionFactory.Create((string city) => "21C", "get_weather")] };

        var response = await client.GetResponseAsync("weather in Paris?", options);

        Assert.Equal("It is 21C.", response.Text);
        var stored = await bed.Memory.GetHistoryAsync("w");
        Assert.Equal(["user", "assistant", "tool", "assistant"], stored.Select(m => m.Role));
        Assert.Equal("get_weather", stored[1].ToolCalls![0].Name);
        Assert.Equal(stored[1].ToolCalls![0].Id, stored[2].ToolCallId);
        Assert.Equal("21C", stored[2].Content);
    }

    [Theory, AllServers]
    public async Task Streaming_stores_the_assembled_response_once_the_stream_completes(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new StrictChatClient();
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory).Build();
        var options = new ChatOptions { ConversationId = "s" };

        var text = "";
        await foreach (var update in client.GetStreamingResponseAsync("one two", options))
        {
            Assert.Equal(0, await bed.Memory.CountAsync("s"));
            text += update.Text;
        }

        Assert.Equal("echo: one two", text);
        var stored = await bed.Memory.GetHistoryAsync("s");
        Assert.Equal(["one two", "echo: one two"], stored.Select(m => m.Content));
    }

    [Theory, AllServers]
    public async Task Nothing_is_stored_when_the_inner_client_fails(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new StrictChatClient { Failure = new InvalidOperationException("model unavailable") };
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory).Build();
        var options = new ChatOptions { ConversationId = "f" };

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync("hi", options));
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("hi", options))
            {
            }
        });

        Assert.Equal(0, await bed.Memory.CountAsync("f"));
    }

    [Theory, AllServers]
    public async Task A_selector_finds_the_id_and_without_one_the_call_passes_through(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new StrictChatClient();
        using var selected = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory, o => o.ConversationIdSelector = (_, options) => options?.AdditionalProperties?["user"] as string)
            .Build();

        await selected.GetResponseAsync("hi", new ChatOptions { AdditionalProperties = new() { ["user"] = "alice" } });
        await selected.GetResponseAsync("no id");

        Assert.Equal(2, await bed.Memory.CountAsync("alice"));
        Assert.Single(model.Calls[1]);
    }

    // Defect 2 (issue 9): the streaming path set ConversationId on the updates FunctionInvokingChatClient still held, so
    // it believed the service kept the history and sent the model only the tool results on the follow-up.
    [Theory, AllServers]
    public async Task Streaming_through_function_invocation_sends_the_model_the_whole_exchange(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new StrictChatClient();
        using var client = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory)
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions { ConversationId = "ws", Tools = [AIFunctionFactory.Create((string city) => "21C", "get_weather")] };

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("weather in Paris?", options))
        {
            updates.Add(update);
        }

        Assert.Empty(model.Rejections);
        Assert.Equal("It is 21C.", updates.ToChatResponse().Text);
        Assert.All(updates, u => Assert.Equal("ws", u.ConversationId));
        Assert.Equal(["user", "assistant", "tool"], model.Calls[1].Select(m => m.Role.Value));
        Assert.Equal(["user", "assistant", "tool", "assistant"], (await bed.Memory.GetHistoryAsync("ws")).Select(m => m.Role));
    }

    [Theory, AllServers]
    public async Task Relayed_updates_are_copies_and_the_inner_ones_are_never_changed(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var inner = new RecordingClient(new StrictChatClient());
        using var client = new ChatClientBuilder(inner).UseChatMemory(bed.Memory).Build();

        var relayed = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("one two", new ChatOptions { ConversationId = "copies" }))
        {
            relayed.Add(update);
        }

        Assert.Equal(inner.Updates.Count, relayed.Count);
        Assert.All(inner.Updates, u => Assert.Null(u.ConversationId));
        Assert.All(relayed, u => Assert.Equal("copies", u.ConversationId));
        Assert.All(relayed, u => Assert.DoesNotContain(u, inner.Updates));
    }

    // FunctionInvokingChatClient outside the memory: the memory's ConversationId makes it send only the tool results, which
    // answer the call the stored history ends with. That call must reach the model, even under a tiny token budget.
    [Theory, AllServers]
    public async Task Function_invocation_outside_the_memory_keeps_the_pending_call_in_the_history(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.TokenCounter = new OneTokenPerMessage());
        foreach (var streaming in new[] { false, true })
        {
            var model = new StrictChatClient();
            using var client = new ChatClientBuilder(model)
                .UseFunctionInvocation()
                .UseChatMemory(bed.Memory, o => o.MaxHistoryTokens = 0)
                .Build();
            var id = streaming ? "outside-s" : "outside";
            var options = new ChatOptions { ConversationId = id, Tools = [AIFunctionFactory.Create((string city) => "21C", "get_weather")] };

            var text = streaming
                ? (await client.GetStreamingResponseAsync("weather in Paris?", options).ToChatResponseAsync()).Text
                : (await client.GetResponseAsync("weather in Paris?", options)).Text;

            Assert.Empty(model.Rejections);
            Assert.Equal("It is 21C.", text);
            Assert.Equal(["assistant", "tool"], model.Calls[1].Select(m => m.Role.Value));
            Assert.Equal(["user", "assistant", "tool", "assistant"], (await bed.Memory.GetHistoryAsync(id)).Select(m => m.Role));
        }
    }

    [Theory, AllServers]
    public async Task A_window_cut_inside_a_tool_exchange_never_reaches_the_model(string server)
    {
        // Seed rule, window of 4: storage keeps [tool, assistant, user, assistant], an orphan result (Python shares the list).
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 2);
        var model = new StrictChatClient();
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory).UseFunctionInvocation().Build();
        var options = new ChatOptions { ConversationId = "cut", Tools = [AIFunctionFactory.Create((string city) => "21C", "get_weather")] };

        await client.GetResponseAsync("weather in Paris?", options);
        await client.GetResponseAsync("thanks", options);
        var stored = await bed.Memory.GetHistoryAsync("cut");
        var last = await client.GetResponseAsync("bye", options);

        Assert.Empty(model.Rejections);
        Assert.Equal("echo: bye", last.Text);
        Assert.Equal(["tool", "assistant", "user", "assistant"], stored.Select(m => m.Role));
        Assert.Equal(["assistant", "user", "assistant", "user"], model.Calls[^1].Select(m => m.Role.Value));
    }

    [Theory, AllServers]
    public async Task The_memory_can_come_from_dependency_injection(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        var services = new ServiceCollection().AddRedisChatMemory(server.ConnectionString, c => c.KeyPrefix = prefix);
        services.AddChatClient(new StrictChatClient()).UseChatMemory();
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IChatClient>().GetResponseAsync("hi", new ChatOptions { ConversationId = "di" });

        Assert.Equal(2, await provider.GetRequiredService<RedisChatMemory>().CountAsync("di"));
    }

    private sealed class OneTokenPerMessage : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => 1;
    }

    /// <summary>Passes calls through and keeps the update objects it yields, to check nobody changed them.</summary>
    private sealed class RecordingClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        public List<ChatResponseUpdate> Updates { get; } = [];

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                Updates.Add(update);
                yield return update;
            }
        }
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace RactoGateway.Redis.Tests;

/// <summary>builder.UseChatMemory(memory): history in, new messages out, atomically, for plain and streaming calls.</summary>
public class ChatClientMiddlewareTests
{
    [Theory, AllServers]
    public async Task History_is_prepended_and_the_exchange_stored(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new EchoChatClient();
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
        var model = new EchoChatClient();
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
        var model = new EchoChatClient();
        using var client = new ChatClientBuilder(model).UseChatMemory(bed.Memory).Build();
        var options = new ChatOptions { ConversationId = "s" };

        var text = "";
        await foreach (var update in client.GetStreamingResponseAsync("one two", options))
        {
            Assert.Equal(0, await bed.Memory.CountAsync("s"));
            text += update.Text;
        }

        Assert.Equal("echo: one two ", text);
        var stored = await bed.Memory.GetHistoryAsync("s");
        Assert.Equal(["one two", "echo: one two "], stored.Select(m => m.Content));
    }

    [Theory, AllServers]
    public async Task Nothing_is_stored_when_the_inner_client_fails(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var model = new EchoChatClient { Fail = true };
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
        var model = new EchoChatClient();
        using var selected = new ChatClientBuilder(model)
            .UseChatMemory(bed.Memory, o => o.ConversationIdSelector = (_, options) => options?.AdditionalProperties?["user"] as string)
            .Build();

        await selected.GetResponseAsync("hi", new ChatOptions { AdditionalProperties = new() { ["user"] = "alice" } });
        await selected.GetResponseAsync("no id");

        Assert.Equal(2, await bed.Memory.CountAsync("alice"));
        Assert.Single(model.Calls[1]);
    }

    [Theory, AllServers]
    public async Task The_memory_can_come_from_dependency_injection(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        var services = new ServiceCollection().AddRedisChatMemory(server.ConnectionString, c => c.KeyPrefix = prefix);
        services.AddChatClient(new EchoChatClient()).UseChatMemory();
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IChatClient>().GetResponseAsync("hi", new ChatOptions { ConversationId = "di" });

        Assert.Equal(2, await provider.GetRequiredService<RedisChatMemory>().CountAsync("di"));
    }
}

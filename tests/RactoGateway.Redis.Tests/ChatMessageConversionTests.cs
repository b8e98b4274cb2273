using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>Microsoft.Extensions.AI messages in and out: text, function calls, function results, other content.</summary>
public class ChatMessageConversionTests
{

    [Theory, AllServers]
    public async Task A_chat_exchange_with_tools_feeds_back_as_chat_messages(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Window.ToolCallAware = true);
        ChatMessage[] exchange =
        [
            new(ChatRole.User, "Weather in Paris?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "21C")]),
            new(ChatRole.Assistant, "It is 21C."),
        ];

        await bed.Memory.AppendManyAsync("c", exchange);
        await bed.Memory.AppendAsync("c", new ChatMessage(ChatRole.User, "Thanks"));
        var history = await bed.Memory.GetChatMessagesAsync("c");

        Assert.Equal(["user", "assistant", "tool", "assistant", "user"], history.Select(m => m.Role.Value));
        Assert.IsType<FunctionCallContent>(Assert.Single(history[1].Contents));
        Assert.Equal("21C", Assert.IsType<FunctionResultContent>(Assert.Single(history[2].Contents)).Result);
        Assert.Equal("Thanks", history[4].Text);
    }
}

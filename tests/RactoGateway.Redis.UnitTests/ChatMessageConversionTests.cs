using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>Microsoft.Extensions.AI messages in and out: text, function calls, function results, other content.</summary>
public class ChatMessageConversionTests
{
    [Fact]
    public void Text_maps_to_a_plain_message_and_back()
    {
        var stored = Assert.Single(new ChatMessage(ChatRole.User, "hello").ToChatMemoryMessages());

        Assert.True(stored.IsPlain);
        Assert.Equal(new ChatMemoryMessage("user", "hello"), stored);
        var back = stored.ToChatMessage();
        Assert.Equal(ChatRole.User, back.Role);
        Assert.Equal("hello", back.Text);
    }

    [Fact]
    public void Function_calls_and_results_map_to_tool_calls_and_tool_messages()
    {
        var call = new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })])
        {
            MessageId = "m1",
        };
        var results = new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call_1", "21C"), new FunctionResultContent("call_2", new { temp = 21 })])
        {
            MessageId = "m2",
        };

        var storedCall = Assert.Single(call.ToChatMemoryMessages());
        var storedResults = results.ToChatMemoryMessages();

        Assert.Equal(new ChatMemoryToolCall("call_1", "get_weather", """{"city":"Paris"}"""), Assert.Single(storedCall.ToolCalls!));
        Assert.Equal(
            [new("tool", "21C") { ToolCallId = "call_1", MessageId = "m2" }, new ChatMemoryMessage("tool", """{"temp":21}""") { ToolCallId = "call_2", MessageId = "m2/1" }],
            storedResults);

        var callBack = Assert.IsType<FunctionCallContent>(Assert.Single(storedCall.ToChatMessage().Contents));
        Assert.Equal("call_1", callBack.CallId);
        Assert.Equal("get_weather", callBack.Name);
        Assert.Equal("Paris", ((JsonElement)callBack.Arguments!["city"]!).GetString());
        var resultBack = Assert.IsType<FunctionResultContent>(Assert.Single(storedResults[0].ToChatMessage().Contents));
        Assert.Equal(("call_1", "21C"), (resultBack.CallId, resultBack.Result as string));
    }

    [Fact]
    public void Other_content_round_trips_through_the_MEAI_serializer()
    {
        var image = new DataContent(new byte[] { 1, 2, 3 }, "image/png");
        var message = new ChatMessage(ChatRole.User, [new TextContent("look:"), image, new UriContent(new Uri("https://example.com/a.png"), "image/png")]);

        var stored = Assert.Single(message.ToChatMemoryMessages());
        var back = stored.ToChatMessage();

        Assert.Equal("look:", stored.Content);
        Assert.NotNull(stored.ExtraContentsJson);
        Assert.Equal("look:", back.Text);
        var data = Assert.IsType<DataContent>(back.Contents[1]);
        Assert.Equal(new byte[] { 1, 2, 3 }, data.Data.ToArray());
        Assert.Equal("image/png", data.MediaType);
        Assert.Equal(new Uri("https://example.com/a.png"), Assert.IsType<UriContent>(back.Contents[2]).Uri);
    }

    [Fact]
    public void Author_id_time_and_string_properties_are_kept()
    {
        var when = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var message = new ChatMessage(ChatRole.Assistant, "hi") { AuthorName = "bot", MessageId = "m9", CreatedAt = when, AdditionalProperties = new() { ["k"] = "v" } };

        var back = Assert.Single(message.ToChatMemoryMessages()).ToChatMessage();

        Assert.Equal(("bot", "m9", when, "v"), (back.AuthorName, back.MessageId, back.CreatedAt, back.AdditionalProperties!["k"] as string));
    }
}

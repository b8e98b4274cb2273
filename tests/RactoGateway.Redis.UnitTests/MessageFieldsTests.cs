using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>Optional fields for real LLM traffic: written only when set, read back exactly, still readable by Python.</summary>
public class MessageFieldsTests
{
    private static readonly ChatMemoryMessage Rich = new("assistant", "Let me check.")
    {
        MessageId = "msg_42",
        Timestamp = new DateTimeOffset(2026, 11, 25, 10, 30, 0, TimeSpan.Zero),
        AuthorName = "planner",
        ToolCalls = [new ChatMemoryToolCall("call_1", "get_weather", """{"city":"Paris","units":"C"}""")],
        Metadata = new Dictionary<string, string> { ["trace"] = "abc", ["lang"] = "fr" },
    };

    [Fact]
    public void A_plain_message_stays_exactly_role_and_content()
    {
        using var json = JsonDocument.Parse(MessageCodec.Encode(new ChatMemoryMessage("user", "hi")));

        Assert.Equal(["role", "content"], json.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Optional_fields_are_written_only_when_set_with_role_first_and_id_second()
    {
        var toolResult = new ChatMemoryMessage("tool", "21C") { ToolCallId = "call_1" };

        using var rich = JsonDocument.Parse(MessageCodec.Encode(Rich));
        using var result = JsonDocument.Parse(MessageCodec.Encode(toolResult));

        Assert.Equal(["role", "id", "content", "name", "tool_calls", "timestamp", "metadata"], rich.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["role", "content", "tool_call_id"], result.RootElement.EnumerateObject().Select(p => p.Name));
        var call = rich.RootElement.GetProperty("tool_calls")[0];
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris","units":"C"}""", call.GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public void The_id_marker_is_exactly_the_bytes_after_the_role()
    {
        foreach (var id in new[] { "m1", "quote\"back\\slash", "é😀", "tab\tnew\nline" })
        {
            var element = MessageCodec.Encode(new ChatMemoryMessage("user", "x") { MessageId = id });
            var marker = MessageCodec.IdMarker(id);

            Assert.Equal(marker, element.AsSpan("{\"role\":\"user\"".Length, marker.Length).ToArray());
        }
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace RactoGateway.Redis.Wire;

/// <summary>
/// One list element as stored. ractogateway's shape is <c>{"role": ..., "content": ...}</c>; the other fields follow
/// OpenAI's message shape and are written only when set. The order matters to <c>append.lua</c>: <c>role</c> first and
/// <c>id</c> right after it, so the script can classify and de-duplicate elements without parsing JSON.
/// Fields are nullable so that a missing field reads as null and the element is skipped, not thrown on.
/// </summary>
internal sealed class WireMessage
{
    [JsonPropertyName("role"), JsonPropertyOrder(0)]
    public string? Role { get; set; }

    [JsonPropertyName("id"), JsonPropertyOrder(1)]
    public string? Id { get; set; }

    [JsonPropertyName("content"), JsonPropertyOrder(2)]
    public string? Content { get; set; }

    [JsonPropertyName("name"), JsonPropertyOrder(3)]
    public string? Name { get; set; }

    [JsonPropertyName("tool_calls"), JsonPropertyOrder(4)]
    public List<WireToolCall>? ToolCalls { get; set; }

    [JsonPropertyName("tool_call_id"), JsonPropertyOrder(5)]
    public string? ToolCallId { get; set; }

    [JsonPropertyName("timestamp"), JsonPropertyOrder(6)]
    public DateTimeOffset? Timestamp { get; set; }

    [JsonPropertyName("metadata"), JsonPropertyOrder(7)]
    public Dictionary<string, string>? Metadata { get; set; }

    [JsonPropertyName("contents"), JsonPropertyOrder(8)]
    public JsonElement? Contents { get; set; }
}

/// <summary>OpenAI's tool call shape: <c>{"id", "type": "function", "function": {"name", "arguments"}}</c>.</summary>
internal sealed class WireToolCall
{
    [JsonPropertyName("id"), JsonPropertyOrder(0)]
    public string? Id { get; set; }

    [JsonPropertyName("type"), JsonPropertyOrder(1)]
    public string? Type { get; set; } = "function";

    [JsonPropertyName("function"), JsonPropertyOrder(2)]
    public WireFunction? Function { get; set; }
}

/// <summary>The function part of a tool call; <c>arguments</c> is JSON text, as OpenAI sends it.</summary>
internal sealed class WireFunction
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("arguments")]
    public string? Arguments { get; set; }
}

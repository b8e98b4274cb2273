using System.Text.Json.Serialization;

namespace RactoGateway.Redis.Agents;

/// <summary>What a session remembers of its Redis history: only the conversation id. The messages stay in Redis, so a
/// serialized session is a few bytes, and any process holding it continues the same conversation.</summary>
internal sealed class RedisChatHistoryProviderState
{
    [JsonPropertyName("conversationId")]
    public string? ConversationId { get; set; }
}

// Source-generated, so that session state round-trips with reflection disabled (trimmed and AOT applications).
[JsonSerializable(typeof(RedisChatHistoryProviderState))]
internal sealed partial class RedisChatHistoryJsonContext : JsonSerializerContext;

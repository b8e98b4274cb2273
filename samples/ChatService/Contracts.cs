using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatService;

/// <summary>The body of <c>POST /chat/{conversationId}</c>.</summary>
internal sealed record ChatRequest(string Message);

/// <summary>The reply, and how many messages the conversation now holds in Redis.</summary>
internal sealed record ChatReply(string Reply, long StoredMessages);

/// <summary>One message of <c>GET /chat/{conversationId}</c>.</summary>
internal sealed record StoredMessage(string Role, string Text);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatReply))]
[JsonSerializable(typeof(List<StoredMessage>))]
internal sealed partial class ChatServiceJsonContext : JsonSerializerContext;

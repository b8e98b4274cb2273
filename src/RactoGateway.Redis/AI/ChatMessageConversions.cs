using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>
/// Conversions between <see cref="ChatMemoryMessage"/> and Microsoft.Extensions.AI's <see cref="ChatMessage"/>.
/// Text, <see cref="FunctionCallContent"/> and <see cref="FunctionResultContent"/> map to the stored fields
/// (content, tool calls, tool results); any other content (images, data, reasoning, usage, ...) is kept as M.E.AI's own
/// JSON in <see cref="ChatMemoryMessage.ExtraContentsJson"/>, so it round-trips. Content M.E.AI cannot serialize
/// throws <see cref="NotSupportedException"/> rather than being dropped.
/// </summary>
public static class ChatMessageConversions
{
    // M.E.AI's own (AOT-safe) options, written compactly: stored arguments look as OpenAI sends them.
    private static readonly JsonSerializerOptions Json = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    /// <summary>The stored form of <paramref name="message"/>: one message, or one per function result (a <c>tool</c>
    /// message each, as OpenAI expects), after a message with the rest of the content when there is any.</summary>
    /// <param name="message">A Microsoft.Extensions.AI message.</param>
    /// <returns>The messages to store, in order.</returns>
    /// <exception cref="NotSupportedException">A content item cannot be serialized by M.E.AI's JSON options.</exception>
    public static IReadOnlyList<ChatMemoryMessage> ToChatMemoryMessages(this ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        List<ChatMemoryToolCall>? calls = null;
        List<FunctionResultContent>? results = null;
        List<AIContent>? extras = null;
        var text = new System.Text.StringBuilder();
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent t:
                    text.Append(t.Text);
                    break;
                case FunctionCallContent call:
                    (calls ??= []).Add(new ChatMemoryToolCall(call.CallId, call.Name, SerializeArguments(call.Arguments)));
                    break;
                case FunctionResultContent result:
                    (results ??= []).Add(result);
                    break;
                default:
                    (extras ??= []).Add(content);
                    break;
            }
        }

        var stored = new List<ChatMemoryMessage>();
        if (results is null || text.Length > 0 || calls is not null || extras is not null)
        {
            stored.Add(new ChatMemoryMessage(message.Role.Value, text.ToString())
            {
                MessageId = message.MessageId,
                AuthorName = message.AuthorName,
                Timestamp = message.CreatedAt,
                ToolCalls = calls,
                Metadata = ToMetadata(message.AdditionalProperties),
                ExtraContentsJson = extras is null ? null : Serialize(extras),
            });
        }

        foreach (var result in results ?? [])
        {
            stored.Add(new ChatMemoryMessage(ChatRoles.Tool, ResultText(result.Result)) { ToolCallId = result.CallId, Timestamp = message.CreatedAt });
        }

        // Each stored message needs its own id for retry safety: the first keeps the original, the others get a suffix.
        for (var i = 0; i < stored.Count && message.MessageId is not null; i++)
        {
            stored[i] = stored[i] with { MessageId = i == 0 ? message.MessageId : $"{message.MessageId}/{i}" };
        }

        return stored;
    }

    /// <summary>The Microsoft.Extensions.AI form of a stored message.</summary>
    /// <param name="message">A stored message.</param>
    /// <returns>A <see cref="ChatMessage"/> with text, function calls or a function result, and any extra contents.</returns>
    public static ChatMessage ToChatMessage(this ChatMemoryMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var contents = new List<AIContent>();
        if (message.ToolCallId is { } callId)
        {
            contents.Add(new FunctionResultContent(callId, message.Content));
        }
        else if (message.Content.Length > 0)
        {
            contents.Add(new TextContent(message.Content));
        }

        foreach (var call in message.ToolCalls ?? [])
        {
            contents.Add(ParseCall(call));
        }

        if (message.ExtraContentsJson is { } extra)
        {
            contents.AddRange(JsonSerializer.Deserialize(extra, Json.GetTypeInfo(typeof(List<AIContent>))) as List<AIContent> ?? []);
        }

        var chat = new ChatMessage(new ChatRole(message.Role), contents)
        {
            MessageId = message.MessageId,
            AuthorName = message.AuthorName,
            CreatedAt = message.Timestamp,
        };
        if (message.Metadata is { Count: > 0 } metadata)
        {
            chat.AdditionalProperties = [];
            foreach (var (key, value) in metadata)
            {
                chat.AdditionalProperties[key] = value;
            }
        }

        if (message.IsSummary)
        {
            (chat.AdditionalProperties ??= [])[SummaryProperty] = true;
        }

        return chat;
    }

    /// <summary>The <see cref="ChatMessage.AdditionalProperties"/> entry (<see langword="true"/>) that marks the rolling
    /// summary (<see cref="ChatMemoryMessage.IsSummary"/>) among the system messages of a history.</summary>
    public const string SummaryProperty = "ractogateway.summary";

    private static string SerializeArguments(IDictionary<string, object?>? arguments) =>
        arguments is null ? "{}" : Serialize(arguments);

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => Serialize(result),
    };

    private static string Serialize<T>(T value)
    {
        try
        {
            return JsonSerializer.Serialize(value, Json.GetTypeInfo(value!.GetType()));
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException)
        {
            throw new NotSupportedException(
                $"{value!.GetType().Name} cannot be stored: Microsoft.Extensions.AI's JSON options cannot serialize it ({ex.Message}).", ex);
        }
    }

    private static Dictionary<string, string>? ToMetadata(AdditionalPropertiesDictionary? properties)
    {
        if (properties is not { Count: > 0 })
        {
            return null;
        }

        var metadata = new Dictionary<string, string>(properties.Count);
        foreach (var (key, value) in properties)
        {
            metadata[key] = value as string ?? (value is null ? "" : Serialize(value));
        }

        return metadata;
    }

    private static FunctionCallContent ParseCall(ChatMemoryToolCall call)
    {
        try
        {
            var arguments = JsonSerializer.Deserialize(call.Arguments, Json.GetTypeInfo(typeof(Dictionary<string, object?>))) as Dictionary<string, object?>;
            return new FunctionCallContent(call.Id, call.Name, arguments);
        }
        catch (JsonException ex)
        {
            // Models sometimes emit arguments that are not a JSON object: keep the call, and say why it has no arguments.
            return new FunctionCallContent(call.Id, call.Name) { Exception = ex };
        }
    }
}

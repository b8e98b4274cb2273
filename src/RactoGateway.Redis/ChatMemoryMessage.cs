namespace RactoGateway.Redis;

/// <summary>
/// One stored message of a conversation. A plain text message is a role and its text, stored exactly as ractogateway
/// stores it (<c>{"role", "content"}</c>); the optional fields carry real LLM traffic (ids, tool calls, tool results)
/// and are written only when set.
/// </summary>
/// <param name="Role">The author: <c>user</c>, <c>assistant</c>, <c>system</c> or <c>tool</c> (or a custom role when allowed).</param>
/// <param name="Content">The text of the message; empty for an assistant message that only calls tools.</param>
public sealed record ChatMemoryMessage(string Role, string Content)
{
    /// <summary>A unique id. Appending a message whose id is already in the window stores nothing (a safe retry).</summary>
    public string? MessageId { get; init; }

    /// <summary>When the message was created.</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>The name of the participant who wrote it.</summary>
    public string? AuthorName { get; init; }

    /// <summary>The tools an assistant message asks to call; answered by <c>tool</c> messages with the same <see cref="ChatMemoryToolCall.Id"/>.</summary>
    public IReadOnlyList<ChatMemoryToolCall>? ToolCalls { get; init; }

    /// <summary>On a <c>tool</c> message: the id of the tool call it answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>Free-form string metadata.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Microsoft.Extensions.AI content items other than text, function calls and function results (images, data,
    /// reasoning, ...), as the JSON array M.E.AI's serializer writes; kept so they round-trip.</summary>
    public string? ExtraContentsJson { get; init; }

    /// <summary>Whether this is the conversation's rolling summary: a <c>system</c> message holding the gist of every
    /// message that has left the window (see <c>ChatMemoryConfig.Summarize</c>). Reads return it after the pinned system
    /// messages and before the window. Written only by the summarizer: an append of a message marked so is refused.</summary>
    public bool IsSummary { get; init; }

    /// <summary>Whether only <see cref="Role"/> and <see cref="Content"/> are set: such a message is stored as exactly
    /// <c>{"role","content"}</c>, readable by Python ractogateway.</summary>
    public bool IsPlain => MessageId is null && Timestamp is null && AuthorName is null && ToolCalls is null
        && ToolCallId is null && Metadata is null && ExtraContentsJson is null && !IsSummary;

    /// <inheritdoc />
    public bool Equals(ChatMemoryMessage? other) =>
        other is not null
        && Role == other.Role && Content == other.Content && MessageId == other.MessageId && Timestamp == other.Timestamp
        && AuthorName == other.AuthorName && IsSummary == other.IsSummary && ToolCallId == other.ToolCallId && ExtraContentsJson == other.ExtraContentsJson
        && SequenceEqual(ToolCalls, other.ToolCalls)
        && (Metadata == other.Metadata || (Metadata is not null && other.Metadata is not null && Metadata.Count == other.Metadata.Count
            && Metadata.All(kv => other.Metadata.TryGetValue(kv.Key, out var v) && v == kv.Value)));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Role, Content, MessageId, ToolCallId, ToolCalls?.Count ?? -1);

    private static bool SequenceEqual(IReadOnlyList<ChatMemoryToolCall>? a, IReadOnlyList<ChatMemoryToolCall>? b) =>
        a == b || (a is not null && b is not null && a.SequenceEqual(b));
}

/// <summary>A tool call requested by an assistant message.</summary>
/// <param name="Id">The call id, echoed by the <c>tool</c> message that answers it.</param>
/// <param name="Name">The function name.</param>
/// <param name="Arguments">The arguments as JSON text, e.g. <c>{"city":"Paris"}</c>.</param>
public sealed record ChatMemoryToolCall(string Id, string Name, string Arguments);

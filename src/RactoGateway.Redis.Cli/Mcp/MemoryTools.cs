using System.ComponentModel;
using System.Text.Json.Serialization;
using ModelContextProtocol.Server;

namespace RactoGateway.Redis.Cli.Mcp;

/// <summary>
/// The tools <c>chatmem mcp</c> always offers: read a conversation (its window and its rolling summary), append to it,
/// record its owner, list an owner's conversations, and search what has left the windows (recall). Each is one call of
/// the library's public API; bad arguments are refused by the library's own checks before any I/O, and reach the client
/// as a tool error (<see cref="GuardedTool"/>).
/// </summary>
internal sealed class MemoryTools(McpMemory memory)
{
    [McpServerTool(Name = "get_history", Title = "Read a conversation", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("The messages stored for a conversation, oldest first: its pinned system messages, then its window (the newest turns " +
        "the memory keeps). What has left the window is not here: its gist is the rolling summary (get_summary), and the messages " +
        "themselves can be found by meaning with search_memory. A conversation never written has no messages.")]
    public async Task<HistoryResult> GetHistoryAsync(
        [Description("The conversation id.")] string conversation,
        CancellationToken cancellationToken)
    {
        var history = await memory.Memory.GetHistoryAsync(conversation, cancellationToken);
        return new HistoryResult(conversation, [.. history.Where(m => !m.IsSummary).Select(MessageView.From)]);
    }

    [McpServerTool(Name = "get_summary", Title = "Read a conversation's summary", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("The rolling summary of a conversation: the gist of every message that has left its window, written by the " +
        "application's summarizer. summary is null when there is none yet (nothing has been summarized, or the conversation does not exist).")]
    public async Task<SummaryResult> GetSummaryAsync(
        [Description("The conversation id.")] string conversation,
        CancellationToken cancellationToken)
    {
        var history = await memory.Memory.GetHistoryAsync(conversation, cancellationToken);
        return new SummaryResult(conversation, history.FirstOrDefault(m => m.IsSummary)?.Content);
    }

    [McpServerTool(Name = "append", Title = "Append a message", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description("Appends one message to a conversation (created on first use), stamped with the current time. The window keeps " +
        "the newest turns: the oldest messages leave it as new ones come. A bad role or an empty content is refused and nothing is written.")]
    public async Task<AppendResult> AppendAsync(
        [Description("The conversation id.")] string conversation,
        [Description("Who wrote it: user, assistant, system or tool.")] string role,
        [Description("The text of the message; not empty.")] string content,
        CancellationToken cancellationToken)
    {
        // The library stores an empty text (an assistant message that only calls tools); a message written here has no
        // tool calls, so an empty one would carry nothing.
        if (string.IsNullOrWhiteSpace(content))
        {
            throw new ArgumentException("The content must not be empty.", nameof(content));
        }

        var message = new ChatMemoryMessage(role, content) { Timestamp = DateTimeOffset.UtcNow };
        await memory.Memory.AppendAsync(conversation, message, cancellationToken);
        return new AppendResult(conversation, message.Timestamp.Value, await memory.Memory.CountAsync(conversation, cancellationToken));
    }

    [McpServerTool(Name = "search_memory", Title = "Search earlier messages", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Finds, by meaning, messages that have left the window of one conversation, or of every conversation of an owner: " +
        "the best matches first, each with its role, time and position. Only messages the application's summarizer has indexed are found. " +
        "Needs a server with vector sets (Redis 8 or later, or Garnet with vector sets).")]
    public async Task<SearchResult> SearchMemoryAsync(
        [Description("What to look for, in words.")] string query,
        [Description("Search this conversation (give this or owner).")] string? conversation = null,
        [Description("Search every conversation of this owner, a user or tenant id (give this or conversation).")] string? owner = null,
        [Description("How many messages at most, 1 to 1000.")] int top = 5,
        CancellationToken cancellationToken = default)
    {
        if ((conversation is null) == (owner is null))
        {
            throw new ArgumentException("Give either conversation or owner (not both).");
        }

        var hits = conversation is not null
            ? await memory.Recall.RecallAsync(conversation, query, top, cancellationToken: cancellationToken)
            : await memory.Recall.RecallForOwnerAsync(owner!, query, top, cancellationToken);
        return new SearchResult([.. hits.Select(h => new HitView(h.ConversationId, h.Position, Math.Round(h.Score, 6), h.Message.Role, h.Message.Content, h.Message.Timestamp))]);
    }

    [McpServerTool(Name = "list_conversations", Title = "List an owner's conversations", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("The conversations of an owner (a user or tenant id, recorded with set_owner or by the application), newest activity " +
        "first, each with its title (its first user message, cut short). An unknown owner has none.")]
    public async Task<ConversationsResult> ListConversationsAsync(
        [Description("The owner: a user or tenant id.")] string owner,
        CancellationToken cancellationToken)
    {
        var conversations = await memory.Owners.ListConversationsAsync(owner, cancellationToken);
        return new ConversationsResult(owner, [.. conversations.Select(c => new ConversationView(c.ConversationId, c.Title, c.LastActivity))]);
    }

    [McpServerTool(Name = "set_owner", Title = "Record a conversation's owner", Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Records the owner (a user or tenant id) of a conversation and marks it active now, so that list_conversations and " +
        "search_memory by owner find it. Call it before the conversation's first append. A conversation of another owner is refused.")]
    public async Task<OwnerResult> SetOwnerAsync(
        [Description("The conversation id.")] string conversation,
        [Description("The owner: a user or tenant id.")] string owner,
        CancellationToken cancellationToken)
    {
        try
        {
            await memory.Owners.SetOwnerAsync(conversation, owner, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            // The conversation belongs to someone else: the caller's mistake, and nothing was changed.
            throw new ArgumentException(ex.Message, ex);
        }

        return new OwnerResult(conversation, owner);
    }
}

/// <summary>The tools offered only with <c>--allow-erase</c>: they delete, and are otherwise not listed at all.</summary>
internal sealed class EraseTools(McpMemory memory)
{
    [McpServerTool(Name = "clear_conversation", Title = "Delete a conversation", Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Deletes a conversation: its messages, its rolling summary, its recall vectors and its entry in its owner's list. " +
        "Cannot be undone. Clearing a conversation that does not exist does nothing.")]
    public async Task<ClearResult> ClearConversationAsync(
        [Description("The conversation id.")] string conversation,
        CancellationToken cancellationToken)
    {
        var existed = await memory.Memory.CountAsync(conversation, cancellationToken) > 0;
        await memory.Memory.ClearAsync(conversation, cancellationToken);
        return new ClearResult(conversation, existed);
    }

    [McpServerTool(Name = "erase_owner", Title = "Erase everything of an owner", Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Erases every conversation of an owner (messages, summaries, recall vectors) and the owner's list: the right to " +
        "erasure. Cannot be undone. Returns how many conversations were erased; run it again after an interruption to finish.")]
    public async Task<EraseResult> EraseOwnerAsync(
        [Description("The owner: a user or tenant id.")] string owner,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        return new EraseResult(owner, await memory.Owners.DeleteOwnerAsync(owner, cancellationToken));
    }
}

/// <summary>A stored message as the tools return it; optional fields only when set.</summary>
internal sealed record MessageView(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content)
{
    [JsonPropertyName("timestamp"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? Timestamp { get; init; }

    [JsonPropertyName("message_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MessageId { get; init; }

    [JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ToolCallView>? ToolCalls { get; init; }

    [JsonPropertyName("tool_call_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ToolCallId { get; init; }

    [JsonPropertyName("metadata"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public static MessageView From(ChatMemoryMessage message) => new(message.Role, message.Content)
    {
        Timestamp = message.Timestamp,
        MessageId = message.MessageId,
        Name = message.AuthorName,
        ToolCalls = message.ToolCalls?.Select(t => new ToolCallView(t.Id, t.Name, t.Arguments)).ToList(),
        ToolCallId = message.ToolCallId,
        Metadata = message.Metadata,
    };
}

/// <summary>A tool call of an assistant message.</summary>
internal sealed record ToolCallView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments);

internal sealed record HistoryResult(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("messages")] IReadOnlyList<MessageView> Messages);

internal sealed record SummaryResult(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("summary"), JsonIgnore(Condition = JsonIgnoreCondition.Never), Description("The summary's text; null when there is none.")] string? Summary);

internal sealed record AppendResult(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("stored"), Description("Messages now stored for the conversation (pinned, summary and window).")] long Stored);

internal sealed record HitView(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("position"), Description("The message's position in its conversation, 0 for the first ever appended.")] long Position,
    [property: JsonPropertyName("score"), Description("Similarity to the query, 0 to 1, higher is closer.")] double Score,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("timestamp")] DateTimeOffset? Timestamp);

internal sealed record SearchResult(
    [property: JsonPropertyName("messages")] IReadOnlyList<HitView> Messages);

internal sealed record ConversationView(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("last_activity")] DateTimeOffset LastActivity);

internal sealed record ConversationsResult(
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("conversations")] IReadOnlyList<ConversationView> Conversations);

internal sealed record OwnerResult(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("owner")] string Owner);

internal sealed record ClearResult(
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("existed")] bool Existed);

internal sealed record EraseResult(
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("erased")] int Erased);

using System.Text.RegularExpressions;

namespace RactoGateway.Redis;

/// <summary>How long-term recall reaches a model: injected before each call, offered as a tool the model calls when it
/// chooses, or both (<see cref="ChatMemoryChatClientOptions.RecallMode"/>, and the Agent Framework recall provider).</summary>
public enum ChatMemoryRecallMode
{
    /// <summary>Each call first recalls the messages most relevant to the last user message and sends them as one
    /// context message (<see cref="ChatMemoryChatClientOptions.RecallTop"/>). Today's behaviour, and the default.</summary>
    Automatic,

    /// <summary>The model is offered the <c>search_memory</c> tool (<see cref="ChatMemoryRecall.CreateSearchTool"/>) and
    /// searches when it chooses, with its own query; nothing is injected.</summary>
    OnDemand,

    /// <summary>Both: the automatic context message, and the tool for what it did not bring.</summary>
    Both,
}

/// <summary>Where the <c>search_memory</c> tool searches.</summary>
public enum ChatMemorySearchScope
{
    /// <summary>The current conversation: its messages that have left the window.</summary>
    Conversation,

    /// <summary>Every conversation of the current conversation's owner (<see cref="ChatMemoryOwners.SetOwnerAsync"/>); a
    /// conversation with no owner is searched alone.</summary>
    Owner,
}

/// <summary>Settings of the <c>search_memory</c> tool (<see cref="ChatMemoryRecall.CreateSearchTool"/>).</summary>
public sealed partial class ChatMemorySearchToolOptions
{
    /// <summary>The tool's default name.</summary>
    public const string DefaultName = "search_memory";

    /// <summary>The tool's default description, which tells the model when to call it.</summary>
    public const string DefaultDescription =
        "Searches the long-term memory of this conversation for earlier messages that are no longer in the recent " +
        "history (facts, names, preferences, decisions stated long ago). Returns the best matches with their role and " +
        "time. Call it before saying you do not know something the user may have told you earlier.";

    /// <summary>The name the model calls the tool by: 1 to 64 letters, digits, '_' or '-' (what OpenAI and Anthropic
    /// accept). Default <see cref="DefaultName"/>.</summary>
    public string Name { get; set; } = DefaultName;

    /// <summary>What the model is told the tool does; not empty. Default <see cref="DefaultDescription"/>.</summary>
    public string Description { get; set; } = DefaultDescription;

    /// <summary>Where the tool searches (default the current conversation).</summary>
    public ChatMemorySearchScope Scope { get; set; } = ChatMemorySearchScope.Conversation;

    /// <summary>How many messages a call returns when the model gives no <c>top</c> (default 5); from 1 to <see cref="MaxTop"/>.</summary>
    public int DefaultTop { get; set; } = 5;

    /// <summary>The largest <c>top</c> the model may ask for (default 20): the schema's maximum, and the bound its calls
    /// are checked against. From 1 to <see cref="ChatMemoryRecall.MaxTop"/>.</summary>
    public int MaxTop { get; set; } = 20;

    /// <summary>The conversation to search, fixed; <see langword="null"/> (the default) takes it from the call: the
    /// conversation of the <see cref="ChatMemoryChatClient"/> call or agent session the tool was offered in, else
    /// <see cref="Microsoft.Extensions.AI.ChatOptions.ConversationId"/> of the
    /// <see cref="Microsoft.Extensions.AI.FunctionInvokingChatClient"/> invoking it.</summary>
    public string? ConversationId { get; set; }

    /// <summary>Returns the first rule these settings break, or <see langword="null"/>.</summary>
    /// <returns>A message naming the property, or <see langword="null"/>.</returns>
    public string? GetValidationError() =>
        Name is null || !ToolName().IsMatch(Name) ? $"ChatMemorySearchToolOptions.Name must be 1 to 64 letters, digits, '_' or '-' (was '{Name}')."
        : string.IsNullOrWhiteSpace(Description) ? "ChatMemorySearchToolOptions.Description must not be empty."
        : !Enum.IsDefined(Scope) ? $"ChatMemorySearchToolOptions.Scope must be Conversation or Owner (was {(int)Scope})."
        : ChatMemoryRecall.GetTopError(MaxTop, "ChatMemorySearchToolOptions.MaxTop") is { } maxError ? maxError
        : DefaultTop < 1 || DefaultTop > MaxTop ? $"ChatMemorySearchToolOptions.DefaultTop must be a whole number between 1 and MaxTop ({MaxTop}) (was {DefaultTop})."
        : ConversationId is not null && string.IsNullOrWhiteSpace(ConversationId) ? "ChatMemorySearchToolOptions.ConversationId must be null or not empty."
        : null;

    /// <summary>A copy of <paramref name="options"/> (or of the defaults), checked; the caller's object can change afterwards.</summary>
    /// <exception cref="ArgumentException">A setting breaks a rule, named.</exception>
    internal static ChatMemorySearchToolOptions ValidatedCopy(ChatMemorySearchToolOptions? options, string paramName)
    {
        var copy = options is null ? new ChatMemorySearchToolOptions() : (ChatMemorySearchToolOptions)options.MemberwiseClone();
        return copy.GetValidationError() is { } error ? throw new ArgumentException(error, paramName) : copy;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ToolName();
}

using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>Options of <see cref="ChatMemoryChatClient"/>.</summary>
public sealed class ChatMemoryChatClientOptions
{
    /// <summary>The largest <see cref="RecallTop"/>: recall's one bound, <see cref="ChatMemoryRecall.MaxTop"/>.</summary>
    public const int MaxRecallTop = ChatMemoryRecall.MaxTop;

    private int? _recallTop;
    private ChatMemoryRecallMode _recallMode;

    /// <summary>
    /// Finds the conversation id when <see cref="ChatOptions.ConversationId"/> is not set (e.g. from a user or session
    /// id in <see cref="ChatOptions.AdditionalProperties"/>). When neither gives an id, the call passes through with no
    /// memory.
    /// </summary>
    public Func<IEnumerable<ChatMessage>, ChatOptions?, string?>? ConversationIdSelector { get; set; }

    /// <summary>When set, only the newest history that fits this many tokens is sent (needs
    /// <see cref="ChatMemoryConfig.TokenCounter"/>); otherwise the whole stored window is. Either way the history is made
    /// valid for the model (<see cref="RedisChatMemory.GetChatMessagesForRequestAsync"/>).</summary>
    public int? MaxHistoryTokens { get; set; }

    /// <summary>
    /// Long-term recall: when set, each call first recalls up to this many earlier messages of the conversation (those
    /// that have left the window) most relevant to the text of the request's last user message, and sends them to the
    /// model as one context message (see <see cref="ChatMemoryRecall.ToContextMessage"/>), placed right after the
    /// history's leading system messages. Nothing is injected when nothing is recalled, and the context message is
    /// never stored. Needs a <see cref="ChatMemoryRecall"/>: <see cref="Recall"/>, else one registered in the services
    /// (with <c>UseChatMemory</c>), else the one composed into the memory. From 1 to <see cref="MaxRecallTop"/>;
    /// <see langword="null"/> (the default) turns automatic recall off (see <see cref="RecallMode"/> for the tool).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or above <see cref="MaxRecallTop"/>.</exception>
    public int? RecallTop
    {
        get => _recallTop;
        set
        {
            if (value is { } top)
            {
                ChatMemoryRecall.ThrowIfTopInvalid(top, nameof(RecallTop));
            }

            _recallTop = value;
        }
    }

    /// <summary>
    /// How recall reaches the model: <see cref="ChatMemoryRecallMode.Automatic"/> (the default: the context message of
    /// <see cref="RecallTop"/>, recall off while it is unset), <see cref="ChatMemoryRecallMode.OnDemand"/> (each call offers
    /// the model the <c>search_memory</c> tool of <see cref="ChatMemoryRecall.CreateSearchTool"/>, bound to the call's
    /// conversation, in <see cref="ChatOptions.Tools"/>; <see cref="RecallTop"/> stays unset) or
    /// <see cref="ChatMemoryRecallMode.Both"/> (needs <see cref="RecallTop"/>). The tool is invoked by a
    /// <see cref="FunctionInvokingChatClient"/> inside this middleware (<c>.UseChatMemory(...).UseFunctionInvocation()</c>),
    /// and its call and result are stored with the turn like any other tool exchange. Needs a
    /// <see cref="ChatMemoryRecall"/>, found as for <see cref="RecallTop"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not one of the enum's.</exception>
    public ChatMemoryRecallMode RecallMode
    {
        get => _recallMode;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(RecallMode), value, $"RecallMode must be Automatic, OnDemand or Both (was {(int)value}).");
            }

            _recallMode = value;
        }
    }

    /// <summary>Settings of the <c>search_memory</c> tool offered in <see cref="ChatMemoryRecallMode.OnDemand"/> and
    /// <see cref="ChatMemoryRecallMode.Both"/> modes (name, description, scope, bounds of <c>top</c>); optional, read
    /// once when the middleware is made.</summary>
    public ChatMemorySearchToolOptions? SearchTool { get; set; }

    /// <summary>Whether these options need a <see cref="ChatMemoryRecall"/>.</summary>
    internal bool UsesRecall => RecallTop is not null || RecallMode != ChatMemoryRecallMode.Automatic;

    /// <summary>The recall <see cref="RecallTop"/> uses; optional (see <see cref="RecallTop"/> for where one is found
    /// otherwise).</summary>
    public ChatMemoryRecall? Recall { get; set; }
}

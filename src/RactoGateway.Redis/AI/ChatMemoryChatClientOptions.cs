using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>Options of <see cref="ChatMemoryChatClient"/>.</summary>
public sealed class ChatMemoryChatClientOptions
{
    /// <summary>The largest <see cref="RecallTop"/>: recall's one bound, <see cref="ChatMemoryRecall.MaxTop"/>.</summary>
    public const int MaxRecallTop = ChatMemoryRecall.MaxTop;

    private int? _recallTop;

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
    /// <see langword="null"/> (the default) turns recall off.
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

    /// <summary>The recall <see cref="RecallTop"/> uses; optional (see <see cref="RecallTop"/> for where one is found
    /// otherwise).</summary>
    public ChatMemoryRecall? Recall { get; set; }
}

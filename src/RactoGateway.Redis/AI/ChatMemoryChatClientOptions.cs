using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>Options of <see cref="ChatMemoryChatClient"/>.</summary>
public sealed class ChatMemoryChatClientOptions
{
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
}

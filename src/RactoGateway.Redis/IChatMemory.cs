using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>
/// Bounded conversation history: the seam every adapter (the <c>IChatClient</c> middleware, the Agent Framework
/// provider) is written against. <see cref="RedisChatMemory"/> is the implementation; a test or a decorator can stand in.
/// </summary>
/// <remarks>
/// Async only: the synchronous twins are conveniences of <see cref="RedisChatMemory"/>. An implementation validates its
/// arguments before any I/O, and appends a batch atomically (no other writer interleaves inside it).
/// </remarks>
public interface IChatMemory
{
    /// <summary>Appends several messages in order, atomically; messages whose id is already stored are skipped.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="messages">The messages, oldest first; an empty batch does nothing.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>A task that completes when the batch is stored.</returns>
    Task AppendManyAsync(string conversationId, IEnumerable<ChatMemoryMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>Appends one message.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>A task that completes when the message is stored.</returns>
    Task AppendAsync(string conversationId, ChatMemoryMessage message, CancellationToken cancellationToken = default);

    /// <summary>Appends a <c>user</c> message and the <c>assistant</c> answer as one turn, atomically.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="user">A message with role <c>user</c>.</param>
    /// <param name="assistant">A message with role <c>assistant</c>.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>A task that completes when the turn is stored.</returns>
    Task AppendTurnAsync(string conversationId, ChatMemoryMessage user, ChatMemoryMessage assistant, CancellationToken cancellationToken = default);

#pragma warning disable RS0026 // The two overloads mirror RedisChatMemory's shipped GetHistoryAsync pair.
    /// <summary>The stored messages, oldest first, exactly as stored (corrupt elements skipped).</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>The messages; empty when the conversation does not exist.</returns>
    Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>The newest stored messages whose tokens fit <paramref name="maxTokens"/>, trimmed by the window's units.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="maxTokens">The budget, at least 0.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>The messages that fit.</returns>
    /// <exception cref="InvalidOperationException">The memory has no token counter.</exception>
    Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, int maxTokens, CancellationToken cancellationToken = default);
#pragma warning restore RS0026

    /// <summary>The history to send to a model before <paramref name="request"/>, as Microsoft.Extensions.AI messages, so
    /// that history and request together are a request OpenAI and Anthropic accept (see docs/windows.md, "What a model
    /// receives is always valid"). This is what the adapters send.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="request">The new messages that will follow the history.</param>
    /// <param name="maxTokens">When set, only the newest history that fits this many tokens; at least 0.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>The messages to put before the request.</returns>
    Task<IReadOnlyList<ChatMessage>> GetChatMessagesForRequestAsync(
        string conversationId, IEnumerable<ChatMessage> request, int? maxTokens = null, CancellationToken cancellationToken = default);

    /// <summary>The number of stored elements; 0 when the conversation does not exist.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>The count.</returns>
    Task<long> CountAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the conversation; clearing one that does not exist does nothing.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>A task that completes when the conversation is gone.</returns>
    Task ClearAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Asks for an object this memory is, holds or is composed with, as Microsoft.Extensions.AI's
    /// <c>IChatClient.GetService</c> does: adapters find its settings (<see cref="ChatMemoryConfig"/>) and its features
    /// (<see cref="ChatMemoryRecall"/>, <see cref="ChatMemorySummarizer"/>, <see cref="ChatMemoryOwners"/>) this way,
    /// without knowing its type. By default, the memory itself when it is of <paramref name="serviceType"/>.</summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">An optional key; by default nothing is keyed.</param>
    /// <returns>The object, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is null.</exception>
    object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }
}

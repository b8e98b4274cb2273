using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>Microsoft.Extensions.AI messages into any <see cref="IChatMemory"/>.</summary>
public static class ChatMemoryExtensions
{
    /// <summary>Appends Microsoft.Extensions.AI messages in order, atomically (e.g. a request and its response), converted
    /// by <see cref="ChatMessageConversions.ToChatMemoryMessages"/>.</summary>
    /// <param name="memory">The memory.</param>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="messages">The messages, oldest first.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>A task that completes when they are stored.</returns>
    public static Task AppendManyAsync(this IChatMemory memory, string conversationId, IEnumerable<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(messages);
        return memory.AppendManyAsync(
            conversationId,
            messages.SelectMany(m => (m ?? throw new ArgumentException("A message is null.", nameof(messages))).ToChatMemoryMessages()),
            cancellationToken);
    }
}

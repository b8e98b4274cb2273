using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

// Microsoft.Extensions.AI messages in and out, so that a history feeds an IChatClient directly.
public sealed partial class RedisChatMemory
{
    /// <summary>Appends a Microsoft.Extensions.AI message (text, function calls, function results, other content),
    /// atomically in one round trip; see <see cref="ChatMessageConversions.ToChatMemoryMessages"/>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the message.</returns>
    public Task AppendAsync(string conversationId, ChatMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return AppendManyAsync(conversationId, message.ToChatMemoryMessages(), cancellationToken);
    }

    /// <summary>Appends Microsoft.Extensions.AI messages in order, in one round trip (e.g. a request and its response).</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="messages">The messages, oldest first.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored them.</returns>
    public Task AppendManyAsync(string conversationId, IEnumerable<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return AppendManyAsync(conversationId, messages.SelectMany(m => (m ?? throw new ArgumentException("A message is null.", nameof(messages))).ToChatMemoryMessages()), cancellationToken);
    }

    /// <summary>The history as Microsoft.Extensions.AI messages, oldest first, ready for <see cref="IChatClient"/>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages; empty when the conversation does not exist.</returns>
    public async Task<IReadOnlyList<ChatMessage>> GetChatMessagesAsync(string conversationId, CancellationToken cancellationToken = default) =>
        ToChatMessages(await GetHistoryAsync(conversationId, cancellationToken).ConfigureAwait(false));

    /// <summary>The newest history that fits <paramref name="maxTokens"/>, as Microsoft.Extensions.AI messages; see
    /// <see cref="GetHistoryAsync(string, int, CancellationToken)"/>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="maxTokens">The budget, at least 0.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages that fit.</returns>
    public async Task<IReadOnlyList<ChatMessage>> GetChatMessagesAsync(string conversationId, int maxTokens, CancellationToken cancellationToken = default) =>
        ToChatMessages(await GetHistoryAsync(conversationId, maxTokens, cancellationToken).ConfigureAwait(false));

    private static List<ChatMessage> ToChatMessages(IReadOnlyList<ChatMemoryMessage> history)
    {
        var messages = new List<ChatMessage>(history.Count);
        foreach (var message in history)
        {
            messages.Add(message.ToChatMessage());
        }

        return messages;
    }
}

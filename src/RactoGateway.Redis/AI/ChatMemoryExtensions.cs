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

    /// <summary>Asks <paramref name="memory"/> for a <typeparamref name="TService"/> (see <see cref="IChatMemory.GetService"/>).</summary>
    /// <typeparam name="TService">The type asked for, e.g. <see cref="ChatMemoryRecall"/>.</typeparam>
    /// <param name="memory">The memory.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/>.</returns>
    public static TService? GetService<TService>(this IChatMemory memory, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return memory.GetService(typeof(TService), serviceKey) is TService service ? service : default;
    }

    /// <summary>Asks <paramref name="memory"/> for a <typeparamref name="TService"/>, which it must have.</summary>
    /// <typeparam name="TService">The type asked for, e.g. <see cref="ChatMemoryRecall"/>.</typeparam>
    /// <param name="memory">The memory.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object.</returns>
    /// <exception cref="InvalidOperationException">The memory has none (e.g. it was not composed with that feature).</exception>
    public static TService GetRequiredService<TService>(this IChatMemory memory, object? serviceKey = null)
        where TService : notnull =>
        memory.GetService<TService>(serviceKey) ?? throw new InvalidOperationException(
            $"The memory has no {typeof(TService).Name}: compose it at construction (RedisChatMemory.Features, or AddRedisChatMemory(...).AddSummarizer()/.AddRecall()/.AddOwners()).");
}

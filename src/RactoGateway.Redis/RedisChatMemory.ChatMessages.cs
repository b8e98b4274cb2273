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
    public Task AppendManyAsync(string conversationId, IEnumerable<ChatMessage> messages, CancellationToken cancellationToken = default) =>
        ChatMemoryExtensions.AppendManyAsync(this, conversationId, messages, cancellationToken);

    /// <summary>The history as Microsoft.Extensions.AI messages, oldest first, ready for <see cref="IChatClient"/>: made
    /// valid for a model request. Storage is not changed, but what is returned never holds a tool result without its call
    /// earlier in the list, nor a tool call without all of its results before the next non-tool message (tool calls cut
    /// off by the window are left out, with their results); messages of a custom role or with no content at all are left
    /// out too. <see cref="GetHistoryAsync(string, CancellationToken)"/> returns the stored records as they are.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages; empty when the conversation does not exist.</returns>
    public async Task<IReadOnlyList<ChatMessage>> GetChatMessagesAsync(string conversationId, CancellationToken cancellationToken = default) =>
        ModelHistory.ToChatMessages(await GetHistoryAsync(conversationId, cancellationToken).ConfigureAwait(false));

    /// <summary>The newest history that fits <paramref name="maxTokens"/>, as Microsoft.Extensions.AI messages, valid for
    /// a model request as <see cref="GetChatMessagesAsync(string, CancellationToken)"/> describes; see
    /// <see cref="GetHistoryAsync(string, int, CancellationToken)"/>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="maxTokens">The budget, at least 0.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages that fit.</returns>
    public async Task<IReadOnlyList<ChatMessage>> GetChatMessagesAsync(string conversationId, int maxTokens, CancellationToken cancellationToken = default) =>
        ModelHistory.ToChatMessages(await GetHistoryAsync(conversationId, maxTokens, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// The history to send before <paramref name="request"/>, as Microsoft.Extensions.AI messages, so that history and
    /// request together are a valid model request (see <see cref="GetChatMessagesAsync(string, CancellationToken)"/>).
    /// This is what the <see cref="ChatMemoryChatClient"/> middleware and the Agent Framework provider send. When the
    /// request begins with tool results for the calls the history ends with (as <c>FunctionInvokingChatClient</c> sends
    /// them when it runs outside the memory), those calls are kept, even past <paramref name="maxTokens"/>.
    /// </summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="request">The new messages that will follow the history.</param>
    /// <param name="maxTokens">When set, only the newest history that fits this many tokens (needs
    /// <see cref="ChatMemoryConfig.TokenCounter"/>); at least 0.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages to put before the request.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="maxTokens"/> is set but no <see cref="ChatMemoryConfig.TokenCounter"/> is.</exception>
    public async Task<IReadOnlyList<ChatMessage>> GetChatMessagesForRequestAsync(
        string conversationId, IEnumerable<ChatMessage> request, int? maxTokens = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var answered = ModelHistory.LeadingResults(request);
        if (maxTokens is not { } budget)
        {
            return ModelHistory.ToChatMessages(await GetHistoryAsync(conversationId, cancellationToken).ConfigureAwait(false), answered);
        }

        var counter = CounterFor(budget);
        var records = await GetHistoryAsync(conversationId, cancellationToken).ConfigureAwait(false);

        // The calls the request answers are sent whatever the budget: without them the request itself is invalid.
        var pending = ModelHistory.PendingGroupStart(records, answered);
        var fitted = WindowPolicy.FitToBudget([.. records.Take(pending)], budget, counter, _config.Window);
        fitted.AddRange(records.Skip(pending));
        return ModelHistory.ToChatMessages(fitted, answered);
    }
}

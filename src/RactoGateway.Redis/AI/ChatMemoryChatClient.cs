using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>
/// <see cref="IChatClient"/> middleware that gives a chat client conversation memory in Redis. On each call it finds the
/// conversation id, prepends the stored history (under the window and token rules, and made valid for a model request:
/// see <see cref="IChatMemory.GetChatMessagesForRequestAsync"/>), calls the inner client, and then
/// appends the new request messages and the response messages (tool calls and results included) in one atomic append.
/// Callers send only the new messages of a turn. When the inner client fails, nothing is stored; a streamed response is
/// stored once the stream completes.
/// </summary>
public sealed class ChatMemoryChatClient : DelegatingChatClient
{
    private readonly IChatMemory _memory;
    private readonly ChatMemoryChatClientOptions _options;

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client that talks to the model.</param>
    /// <param name="memory">Where conversations are kept.</param>
    /// <param name="options">How the conversation id and the history budget are found; optional.</param>
    public ChatMemoryChatClient(IChatClient innerClient, IChatMemory memory, ChatMemoryChatClientOptions? options = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _options = options ?? new ChatMemoryChatClientOptions();
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var request = messages.ToList();
        if (ConversationIdOf(request, options) is not { } conversationId)
        {
            return await base.GetResponseAsync(request, options, cancellationToken).ConfigureAwait(false);
        }

        var history = await HistoryAsync(conversationId, request, cancellationToken).ConfigureAwait(false);
        var response = await base.GetResponseAsync([.. history, .. request], WithoutConversationId(options), cancellationToken).ConfigureAwait(false);
        await _memory.AppendManyAsync(conversationId, [.. request, .. response.Messages], cancellationToken).ConfigureAwait(false);
        response.ConversationId = conversationId;
        return response;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var request = messages.ToList();
        var conversationId = ConversationIdOf(request, options);
        var history = conversationId is null ? [] : await HistoryAsync(conversationId, request, cancellationToken).ConfigureAwait(false);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in base.GetStreamingResponseAsync([.. history, .. request], conversationId is null ? options : WithoutConversationId(options), cancellationToken)
            .ConfigureAwait(false))
        {
            if (conversationId is null)
            {
                yield return update;
                continue;
            }

            // The inner pipeline may still hold this object (FunctionInvokingChatClient keeps its updates to build the
            // follow-up request): mutating it would make that client believe the service keeps the history, and send the
            // model only the tool results. Relay a copy that carries the id; keep the original to store.
            updates.Add(update);
            var relayed = update.Clone();
            relayed.ConversationId = conversationId;
            yield return relayed;
        }

        if (conversationId is not null)
        {
            await _memory.AppendManyAsync(conversationId, [.. request, .. updates.ToChatResponse().Messages], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(_memory) == true ? _memory : base.GetService(serviceType!, serviceKey);

    private string? ConversationIdOf(List<ChatMessage> request, ChatOptions? options) =>
        options?.ConversationId is { Length: > 0 } id ? id : _options.ConversationIdSelector?.Invoke(request, options);

    // Valid for a model together with the request: see IChatMemory.GetChatMessagesForRequestAsync.
    private Task<IReadOnlyList<ChatMessage>> HistoryAsync(string conversationId, List<ChatMessage> request, CancellationToken cancellationToken) =>
        _memory.GetChatMessagesForRequestAsync(conversationId, request, _options.MaxHistoryTokens, cancellationToken);

    // The memory owns the history: an inner client that keeps server-side conversations must not also get the id.
    private static ChatOptions? WithoutConversationId(ChatOptions? options)
    {
        if (options?.ConversationId is null)
        {
            return options;
        }

        var copy = options.Clone();
        copy.ConversationId = null;
        return copy;
    }
}

/// <summary>Adds <see cref="ChatMemoryChatClient"/> to a <see cref="ChatClientBuilder"/> pipeline.</summary>
public static class ChatMemoryChatClientBuilderExtensions
{
    /// <summary>Gives the pipeline conversation memory in Redis; see <see cref="ChatMemoryChatClient"/>.</summary>
    /// <param name="builder">The pipeline.</param>
    /// <param name="memory">The memory; when <see langword="null"/>, the <see cref="IChatMemory"/> registered in the services.</param>
    /// <param name="configure">Sets the options; optional.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static ChatClientBuilder UseChatMemory(this ChatClientBuilder builder, IChatMemory? memory = null, Action<ChatMemoryChatClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new ChatMemoryChatClientOptions();
        configure?.Invoke(options);
        return builder.Use((inner, services) => new ChatMemoryChatClient(
            inner,
            memory ?? (IChatMemory?)services.GetService(typeof(IChatMemory)) ?? throw new InvalidOperationException(
                "UseChatMemory() found no IChatMemory: pass one, or register a RedisChatMemory with services.AddRedisChatMemory()."),
            options));
    }
}

using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Agents;

/// <summary>
/// Keeps an <see cref="AIAgent"/> session's chat history in Redis through a <see cref="RedisChatMemory"/>, so it is
/// bounded by the memory's window, shared by every replica, and survives restarts. The session itself only holds the
/// conversation id (see <see cref="GetConversationId"/>); serialize the session, resume it anywhere, and the agent
/// continues the same Redis conversation.
/// </summary>
/// <remarks>
/// Before each run the stored history (under the window and, if set, <see cref="RedisChatHistoryProviderOptions.MaxTokens"/>)
/// is placed before the new messages, made valid for a model request: storage is never changed, but a tool result
/// whose call was trimmed, or a tool call whose results were, is not sent (see
/// <see cref="IChatMemory.GetChatMessagesForRequestAsync"/>). After a successful run the new request messages and all response messages,
/// function calls and results included, are appended in one atomic round trip. A failed run stores nothing.
/// One provider serves many sessions and keeps no per-session state of its own.
/// </remarks>
public sealed class RedisChatHistoryProvider : ChatHistoryProvider
{
    private readonly ProviderSessionState<RedisChatHistoryProviderState> _state;
    private readonly Func<AgentSession, string> _newConversationId;
    private readonly int? _maxTokens;

    /// <summary>Creates a provider over <paramref name="memory"/>, which it does not own or dispose.</summary>
    /// <param name="memory">The Redis memory; its <see cref="ChatMemoryConfig"/> sets the window.</param>
    /// <param name="options">Token budget, state key and conversation id factory; optional.</param>
    /// <exception cref="ArgumentNullException"><paramref name="memory"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid, or a token budget is set but the memory has no token counter.</exception>
    public RedisChatHistoryProvider(IChatMemory memory, RedisChatHistoryProviderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Memory = memory;
        _maxTokens = options?.MaxTokens;
        if (_maxTokens < 0)
        {
            throw new ArgumentException("MaxTokens must be at least 0.", nameof(options));
        }

        // Refuse now rather than on the first run: a budget cannot be applied without a counter.
        if (_maxTokens is not null && memory.GetService<ChatMemoryConfig>() is { TokenCounter: null })
        {
            throw new ArgumentException("MaxTokens needs the memory's ChatMemoryConfig.TokenCounter to be set.", nameof(options));
        }

        var stateKey = options?.StateKey ?? nameof(RedisChatHistoryProvider);
        if (string.IsNullOrWhiteSpace(stateKey))
        {
            throw new ArgumentException("StateKey must not be empty.", nameof(options));
        }

        _newConversationId = options?.ConversationIdFactory ?? (_ => Guid.NewGuid().ToString("N"));
        _state = new ProviderSessionState<RedisChatHistoryProviderState>(
            _ => new RedisChatHistoryProviderState(), stateKey, new JsonSerializerOptions { TypeInfoResolver = RedisChatHistoryJsonContext.Default });
        StateKeys = [stateKey];
    }

    /// <summary>The memory the history is kept in.</summary>
    public IChatMemory Memory { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> StateKeys { get; }

    /// <summary>The Redis conversation id of <paramref name="session"/>, made (and kept in the session's state) on first use.</summary>
    /// <param name="session">The agent session.</param>
    /// <returns>The id; read the history with <c>Memory.GetChatMessagesAsync(id)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public string GetConversationId(AgentSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var state = _state.GetOrInitializeState(session);
        if (string.IsNullOrWhiteSpace(state.ConversationId))
        {
            var id = _newConversationId(session);
            if (string.IsNullOrWhiteSpace(id))
            {
                throw new InvalidOperationException("ConversationIdFactory returned an empty conversation id.");
            }

            state.ConversationId = id;
            _state.SaveState(session, state);
        }

        return state.ConversationId;
    }

    /// <summary>Binds <paramref name="session"/> to an existing Redis conversation (e.g. one begun through the
    /// <see cref="IChatClient"/> middleware, or by a Python service), so the agent continues it.</summary>
    /// <param name="session">The agent session.</param>
    /// <param name="conversationId">The conversation id; not empty or whitespace.</param>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> or <paramref name="conversationId"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="conversationId"/> is empty or whitespace.</exception>
    public void SetConversationId(AgentSession session, string conversationId)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        _state.SaveState(session, new RedisChatHistoryProviderState { ConversationId = conversationId });
    }

    /// <inheritdoc />
    protected override async ValueTask<IEnumerable<ChatMessage>> ProvideChatHistoryAsync(InvokingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var id = GetConversationId(RequireSession(context.Session));

        // Valid for the model together with this run's request: see IChatMemory.GetChatMessagesForRequestAsync.
        return await Memory.GetChatMessagesForRequestAsync(id, context.RequestMessages, _maxTokens, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async ValueTask StoreChatHistoryAsync(InvokedContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);

        // The base class calls this only for a successful run, with the history it provided already filtered out of the
        // request. Request and response go in one call: one atomic append, so the window never holds half a run.
        var id = GetConversationId(RequireSession(context.Session));
        var messages = context.RequestMessages.Concat(context.ResponseMessages ?? []).Select(WithoutSourceAttribution);
        await Memory.AppendManyAsync(id, messages, cancellationToken).ConfigureAwait(false);
    }

    // Without a session there is nowhere to keep the conversation id, so every run would start a new conversation.
    private static AgentSession RequireSession(AgentSession? session) => session ?? throw new InvalidOperationException(
        "RedisChatHistoryProvider needs an AgentSession: create one with agent.CreateSessionAsync() and pass it to RunAsync.");

    // The framework tags request messages with where they came from, in AdditionalProperties. That tag describes one
    // run, not the conversation, and is not JSON-serializable by M.E.AI's options, so it is not stored.
    private static ChatMessage WithoutSourceAttribution(ChatMessage message)
    {
        if (message.AdditionalProperties?.ContainsKey(AgentRequestMessageSourceAttribution.AdditionalPropertiesKey) != true)
        {
            return message;
        }

        var copy = message.Clone();
        copy.AdditionalProperties = new AdditionalPropertiesDictionary(message.AdditionalProperties);
        copy.AdditionalProperties.Remove(AgentRequestMessageSourceAttribution.AdditionalPropertiesKey);
        if (copy.AdditionalProperties.Count == 0)
        {
            copy.AdditionalProperties = null;
        }

        return copy;
    }
}

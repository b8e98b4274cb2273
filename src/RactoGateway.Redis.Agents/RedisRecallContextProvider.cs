using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RactoGateway.Redis.Agents;

/// <summary>
/// Long-term recall for an <see cref="AIAgent"/>: before each run it recalls the earlier messages of the session's Redis
/// conversation (those that have left the window) most relevant to the latest user message, and gives them to the model
/// as the run's extra <see cref="AIContext.Instructions"/>, in the text of <see cref="ChatMemoryRecall.ToContextMessage"/>
/// (<c>Earlier in this conversation (recalled, oldest first):</c> then <c>- role: text</c> per message).
/// </summary>
/// <remarks>
/// <para>Instructions, not <see cref="AIContext.Messages"/>: instructions are transient (never stored by the
/// <see cref="RedisChatHistoryProvider"/>) and every chat client sends them where a provider accepts a system prompt
/// (OpenAI: a leading system message; Anthropic: the top-level <c>system</c> parameter), while context messages are
/// appended after the history and the request, where a system message breaks Anthropic's rules and a user message
/// breaks its alternation, and are then stored with the conversation.</para>
/// <para>What the model is sent anyway (the history and the request) is left out, and nothing is added when nothing is
/// recalled. On a server without vector sets the run goes on without recall (logged once).</para>
/// <para>The conversation is the one of the agent's <see cref="RedisChatHistoryProvider"/> unless
/// <see cref="RedisRecallContextProviderOptions.ConversationIdSelector"/> says otherwise. Indexing needs a
/// <see cref="ChatMemorySummarizer"/> running on the memory (see <see cref="ChatMemoryRecall"/>).</para>
/// <para>With <see cref="RedisRecallContextProviderOptions.Mode"/> <see cref="ChatMemoryRecallMode.OnDemand"/> the run
/// gets, instead of recalled instructions, the <c>search_memory</c> tool (<see cref="ChatMemoryRecall.CreateSearchTool"/>)
/// in <see cref="AIContext.Tools"/>, bound to the run's conversation; with <see cref="ChatMemoryRecallMode.Both"/>, both.</para>
/// </remarks>
public sealed partial class RedisRecallContextProvider : AIContextProvider
{
    private readonly int _top;
    private readonly ChatMemoryRecallMode _mode;
    private readonly ChatMemorySearchToolOptions? _searchTool;
    private readonly Func<AIAgent, AgentSession?, string?>? _conversationIdSelector;
    private readonly ILogger _logger;
    private int _unsupportedLogged;

    /// <summary>Creates a provider that recalls through <paramref name="recall"/>.</summary>
    /// <param name="recall">The recall composed into the agent's memory (<c>memory.GetRequiredService&lt;ChatMemoryRecall&gt;()</c>).</param>
    /// <param name="options">How many messages, and the conversation id; optional.</param>
    /// <param name="logger">Receives recall skipped on a server without vector sets; optional.</param>
    /// <exception cref="ArgumentNullException"><paramref name="recall"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="RedisRecallContextProviderOptions.Top"/> is not from 1 to
    /// <see cref="ChatMemoryRecall.MaxTop"/>, <see cref="RedisRecallContextProviderOptions.Mode"/> is not one of the enum's, or
    /// <see cref="RedisRecallContextProviderOptions.SearchTool"/> breaks a rule.</exception>
    public RedisRecallContextProvider(ChatMemoryRecall recall, RedisRecallContextProviderOptions? options = null, ILogger<RedisRecallContextProvider>? logger = null)
        : base(provideInputMessageFilter: static messages => messages)
    {
        ArgumentNullException.ThrowIfNull(recall);
        _top = options?.Top ?? new RedisRecallContextProviderOptions().Top;
        if (ChatMemoryRecall.GetTopError(_top, "Top") is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }

        _mode = options?.Mode ?? ChatMemoryRecallMode.Automatic;
        if (!Enum.IsDefined(_mode))
        {
            throw new ArgumentException($"Mode must be Automatic, OnDemand or Both (was {(int)_mode}).", nameof(options));
        }

        Recall = recall;
        if (_mode != ChatMemoryRecallMode.Automatic)
        {
            // Checked now (the tool made here is thrown away); each run gets a tool bound to its conversation.
            _searchTool = Bound(options?.SearchTool ?? new ChatMemorySearchToolOptions(), null);
            recall.CreateSearchTool(_searchTool);
        }

        _conversationIdSelector = options?.ConversationIdSelector;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The recall the provider searches.</summary>
    public ChatMemoryRecall Recall { get; }

    /// <inheritdoc />
    protected override async ValueTask<AIContext> ProvideAIContextAsync(InvokingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Every message the model is about to get (this provider sees them all, not only the caller's): the history and
        // the request, to search for the latest user message and to leave out what is sent anyway.
        var messages = context.AIContext.Messages?.ToList() ?? [];
        var query = messages.LastOrDefault(m => m?.Role == ChatRole.User)?.Text;
        if ((_searchTool is null && string.IsNullOrWhiteSpace(query)) || ConversationIdOf(context) is not { Length: > 0 } conversationId)
        {
            return new AIContext();
        }

        // On demand: the search tool, bound to this run's conversation (a copy per run: sessions differ).
        IEnumerable<AITool>? tools = _searchTool is null ? null : [Recall.CreateSearchTool(Bound(_searchTool, conversationId))];
        if (_mode == ChatMemoryRecallMode.OnDemand || string.IsNullOrWhiteSpace(query))
        {
            return new AIContext { Tools = tools };
        }

        IReadOnlyList<RecalledMessage> recalled;
        try
        {
            recalled = await Recall.RecallAsync(conversationId, query, _top, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException ex)
        {
            // The server has no vector sets: the agent goes on with the window and summary alone.
            if (Interlocked.Exchange(ref _unsupportedLogged, 1) == 0)
            {
                RecallSkipped(_logger, ex.Message);
            }

            return new AIContext { Tools = tools };
        }

        return new AIContext { Instructions = ChatMemoryRecall.ToContextMessage(recalled, messages)?.Text, Tools = tools };
    }

    // A copy of the tool's settings, searching conversationId unless they fix one.
    private static ChatMemorySearchToolOptions Bound(ChatMemorySearchToolOptions tool, string? conversationId) => new()
    {
        Name = tool.Name, Description = tool.Description, Scope = tool.Scope, DefaultTop = tool.DefaultTop, MaxTop = tool.MaxTop,
        ConversationId = tool.ConversationId ?? conversationId,
    };

    private string? ConversationIdOf(InvokingContext context)
    {
        if (_conversationIdSelector is not null)
        {
            return _conversationIdSelector(context.Agent, context.Session);
        }

        var history = context.Agent.GetService<RedisChatHistoryProvider>() ?? (context.Agent as ChatClientAgent)?.ChatHistoryProvider as RedisChatHistoryProvider
            ?? throw new InvalidOperationException(
                "RedisRecallContextProvider found no RedisChatHistoryProvider on the agent: add one (UseRedisChatHistory) or set ConversationIdSelector.");
        return context.Session is null ? null : history.GetConversationId(context.Session);
    }

    [LoggerMessage(1, LogLevel.Warning, "Agent runs go on without recalled context: {Reason}", EventName = "RecallSkipped")]
    private static partial void RecallSkipped(ILogger logger, string reason);
}

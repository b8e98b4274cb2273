using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Recall;

namespace RactoGateway.Redis;

/// <summary>
/// <see cref="IChatClient"/> middleware that gives a chat client conversation memory in Redis. On each call it finds the
/// conversation id, prepends the stored history (under the window and token rules, and made valid for a model request:
/// see <see cref="IChatMemory.GetChatMessagesForRequestAsync"/>), calls the inner client, and then
/// appends the new request messages and the response messages (tool calls and results included) in one atomic append.
/// Callers send only the new messages of a turn. When the inner client fails, nothing is stored; a streamed response is
/// stored once the stream completes.
/// </summary>
/// <remarks>
/// With <see cref="ChatMemoryChatClientOptions.RecallTop"/> set, each call also recalls earlier messages relevant to the
/// request's last user message (in parallel with reading the history) and sends them as one marked <c>system</c> context
/// message right after the history's leading system messages (the pinned prompt and the rolling summary); see
/// <see cref="ChatMemoryRecall.ToContextMessage"/>. That message is never stored. On a server without vector sets the
/// chat goes on without it (logged once, through the recall's logger).
/// With <see cref="ChatMemoryChatClientOptions.RecallMode"/> <see cref="ChatMemoryRecallMode.OnDemand"/> (or
/// <see cref="ChatMemoryRecallMode.Both"/>), each call instead (or also) offers the model the <c>search_memory</c> tool
/// (<see cref="ChatMemoryRecall.CreateSearchTool"/>) bound to the call's conversation, for a
/// <see cref="FunctionInvokingChatClient"/> inside this middleware to invoke.
/// </remarks>
public sealed partial class ChatMemoryChatClient : DelegatingChatClient
{
    private readonly IChatMemory _memory;
    private readonly ChatMemoryChatClientOptions _options;
    private readonly ChatMemoryRecall? _recall;
    private readonly int _recallTop;
    private readonly ChatMemorySearchTool? _searchTool;
    private int _recallUnsupportedLogged;

    /// <summary>Wraps <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client that talks to the model.</param>
    /// <param name="memory">Where conversations are kept.</param>
    /// <param name="options">How the conversation id, the history budget and recall are found; optional. Recall
    /// (<see cref="ChatMemoryChatClientOptions.RecallTop"/> and <see cref="ChatMemoryChatClientOptions.Recall"/>) is read
    /// here, once.</param>
    /// <exception cref="ArgumentNullException"><paramref name="memory"/> is null.</exception>
    /// <exception cref="ArgumentException">Recall is asked for (<see cref="ChatMemoryChatClientOptions.RecallTop"/> set, or
    /// <see cref="ChatMemoryChatClientOptions.RecallMode"/> not automatic), but there is no
    /// <see cref="ChatMemoryChatClientOptions.Recall"/> and no recall composed into <paramref name="memory"/>; or the mode
    /// and <see cref="ChatMemoryChatClientOptions.RecallTop"/> disagree (<see cref="ChatMemoryRecallMode.Both"/> needs it,
    /// <see cref="ChatMemoryRecallMode.OnDemand"/> takes none); or <see cref="ChatMemoryChatClientOptions.SearchTool"/>
    /// breaks a rule.</exception>
    public ChatMemoryChatClient(IChatClient innerClient, IChatMemory memory, ChatMemoryChatClientOptions? options = null)
        : this(innerClient, memory, options, null)
    {
    }

    /// <summary>Wraps <paramref name="innerClient"/>; <paramref name="servicesRecall"/> (the one registered in the services) serves when the options name none.</summary>
    internal ChatMemoryChatClient(IChatClient innerClient, IChatMemory memory, ChatMemoryChatClientOptions? options, ChatMemoryRecall? servicesRecall)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _options = options ?? new ChatMemoryChatClientOptions();
        var mode = _options.RecallMode;
        if (mode == ChatMemoryRecallMode.Both && _options.RecallTop is null)
        {
            throw new ArgumentException("RecallMode is Both but RecallTop is not set: set how many messages to recall automatically, or use OnDemand.", nameof(options));
        }

        if (mode == ChatMemoryRecallMode.OnDemand && _options.RecallTop is not null)
        {
            throw new ArgumentException("RecallMode is OnDemand but RecallTop is set: RecallTop is for automatic recall; leave it unset, or use Both.", nameof(options));
        }

        if (!_options.UsesRecall)
        {
            return;
        }

        _recall = _options.Recall ?? servicesRecall ?? memory.GetService<ChatMemoryRecall>() ?? throw new ArgumentException(
            (_options.RecallTop is null ? $"RecallMode is {mode}" : "RecallTop is set") + " but there is no ChatMemoryRecall: set ChatMemoryChatClientOptions.Recall, " +
            "register one in the services, or compose the memory with recall (Features = new ChatMemoryFeatures().AddRecall(embeddings)).", nameof(options));
        _recallTop = mode == ChatMemoryRecallMode.OnDemand ? 0 : _options.RecallTop!.Value;
        _searchTool = mode == ChatMemoryRecallMode.Automatic
            ? null
            : new ChatMemorySearchTool(_recall, ChatMemorySearchToolOptions.ValidatedCopy(_options.SearchTool, nameof(options)));
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

        var inward = Inward(options, conversationId);
        var sent = await MessagesAsync(conversationId, request, cancellationToken).ConfigureAwait(false);
        var response = await base.GetResponseAsync(sent, inward, cancellationToken).ConfigureAwait(false);
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
        var inward = conversationId is null ? options : Inward(options, conversationId);
        var sent = conversationId is null ? request : await MessagesAsync(conversationId, request, cancellationToken).ConfigureAwait(false);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in base.GetStreamingResponseAsync(sent, inward, cancellationToken)
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
        serviceType is null ? base.GetService(serviceType!, serviceKey) : _memory.GetService(serviceType, serviceKey) ?? base.GetService(serviceType, serviceKey);

    private string? ConversationIdOf(List<ChatMessage> request, ChatOptions? options) =>
        options?.ConversationId is { Length: > 0 } id ? id : _options.ConversationIdSelector?.Invoke(request, options);

    // History, recalled context and request: valid for a model (see IChatMemory.GetChatMessagesForRequestAsync; the
    // context message joins the leading system messages, where every provider accepts one).
    private async Task<List<ChatMessage>> MessagesAsync(string conversationId, List<ChatMessage> request, CancellationToken cancellationToken)
    {
        var historyTask = _memory.GetChatMessagesForRequestAsync(conversationId, request, _options.MaxHistoryTokens, cancellationToken);
        var recallTask = RecallAsync(conversationId, request, cancellationToken);
        await Task.WhenAll(historyTask, recallTask).ConfigureAwait(false);
        List<ChatMessage> sent = [.. await historyTask.ConfigureAwait(false), .. request];
        if (ChatMemoryRecall.ToContextMessage(await recallTask.ConfigureAwait(false), sent) is { } context)
        {
            var at = 0;
            while (at < sent.Count && sent[at].Role == ChatRole.System)
            {
                at++;
            }

            sent.Insert(at, context);
        }

        return sent;
    }

    private async Task<IReadOnlyList<RecalledMessage>> RecallAsync(string conversationId, List<ChatMessage> request, CancellationToken cancellationToken)
    {
        if (_recall is null || _recallTop == 0 || LastUserText(request) is not { } query)
        {
            return [];
        }

        try
        {
            return await _recall.RecallAsync(conversationId, query, _recallTop, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException ex)
        {
            // The server has no vector sets: the chat goes on with the window and summary alone.
            if (Interlocked.Exchange(ref _recallUnsupportedLogged, 1) == 0)
            {
                RecallSkipped(_recall.Logger, ex.Message);
            }

            return [];
        }
    }

    private static string? LastUserText(List<ChatMessage> request)
    {
        for (var i = request.Count - 1; i >= 0; i--)
        {
            if (request[i]?.Role == ChatRole.User)
            {
                return string.IsNullOrWhiteSpace(request[i].Text) ? null : request[i].Text;
            }
        }

        return null;
    }

    // The options the inner client gets. The memory owns the history: an inner client that keeps server-side
    // conversations must not also get the id. On demand, the search tool bound to this conversation joins the tools
    // (in a copy: the caller's options are not changed).
    private ChatOptions? Inward(ChatOptions? options, string conversationId)
    {
        if (options?.ConversationId is null && _searchTool is null)
        {
            return options;
        }

        var copy = options?.Clone() ?? new ChatOptions();
        copy.ConversationId = null;
        if (_searchTool is not null)
        {
            var tools = copy.Tools?.Where(t => t is not ChatMemorySearchTool).ToList() ?? [];
            if (tools.Any(t => t.Name == _searchTool.Name))
            {
                throw new InvalidOperationException(
                    $"ChatOptions.Tools already has a tool named '{_searchTool.Name}', the name of the memory's search tool: rename one (ChatMemorySearchToolOptions.Name).");
            }

            tools.Add(_searchTool.Bind(conversationId));
            copy.Tools = tools;
        }

        return copy;
    }
}

/// <summary>Adds <see cref="ChatMemoryChatClient"/> to a <see cref="ChatClientBuilder"/> pipeline.</summary>
public static class ChatMemoryChatClientBuilderExtensions
{
    /// <summary>Gives the pipeline conversation memory in Redis; see <see cref="ChatMemoryChatClient"/>.</summary>
    /// <param name="builder">The pipeline.</param>
    /// <param name="memory">The memory; when <see langword="null"/>, the <see cref="IChatMemory"/> registered in the services.</param>
    /// <param name="configure">Sets the options; optional. With recall asked for (<see cref="ChatMemoryChatClientOptions.RecallTop"/>
    /// set, or <see cref="ChatMemoryChatClientOptions.RecallMode"/> not automatic) and no <see cref="ChatMemoryChatClientOptions.Recall"/>, the <see cref="ChatMemoryRecall"/> registered in the services
    /// is used, else the one composed into the memory.</param>
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
            options,
            !options.UsesRecall || options.Recall is not null ? null : (ChatMemoryRecall?)services.GetService(typeof(ChatMemoryRecall))));
    }
}

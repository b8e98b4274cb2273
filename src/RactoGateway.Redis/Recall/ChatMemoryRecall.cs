using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RactoGateway.Redis.Recall;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// Long-term recall: semantic search over every message that has left a conversation's window, in a vector set per
/// conversation on the same server (Redis 8 or later, or Garnet with <c>--enable-vector-set-preview</c>), and across all
/// the conversations of an owner (<see cref="ChatMemoryOwners"/>).
/// </summary>
/// <remarks>
/// <para>Composed into a memory at construction (<see cref="ChatMemoryFeatures.AddRecall"/>, or <c>AddRecall()</c> on
/// the builder <c>AddRedisChatMemory</c> returns), and got back with <c>memory.GetService&lt;ChatMemoryRecall&gt;()</c>.
/// Indexing rides on the rolling summary: the memory needs <see cref="ChatMemoryConfig.Summarize"/> and a
/// <see cref="ChatMemorySummarizer"/> running over it. The summarizer embeds each batch of pending messages and stores
/// it here before folding it into the summary, so each message is indexed exactly once (a retry replaces the same
/// entry: they are named by their position among all the conversation ever evicted), off the hot path. Appends never
/// embed. Recall composes <see cref="ChatMemoryOwners"/> too, so clearing a conversation deletes its vectors.</para>
/// <para>On a server without vector sets, <see cref="RecallAsync"/> throws <see cref="NotSupportedException"/> naming
/// what is needed; indexing is skipped (logged once) and the window and summary keep working.</para>
/// </remarks>
public sealed partial class ChatMemoryRecall
{
    /// <summary>The largest <c>top</c> recall accepts, wherever it is given (<see cref="RecallAsync"/>,
    /// <see cref="ChatMemoryChatClientOptions.RecallTop"/>, the Agent Framework provider, <c>chatmem recall --top</c>).</summary>
    public const int MaxTop = 1000;

    /// <summary>The <see cref="ChatMessage.AdditionalProperties"/> key (value <see langword="true"/>) that marks the
    /// context message of <see cref="ToContextMessage"/>: recalled context, not part of the conversation.</summary>
    public const string ContextPropertyName = "ractogateway.recall";

    /// <summary>The first line of the context message's text.</summary>
    public const string ContextHeading = "Earlier in this conversation (recalled, oldest first):";

    private readonly IEmbeddingGenerator<string, Embedding<float>> _embeddings;
    private readonly VectorSetStore _store;
    private readonly OwnerIndex _index;
    private readonly ILogger _logger;
    private int _unsupportedLogged;

    internal ChatMemoryRecall(RedisChatMemory memory, IEmbeddingGenerator<string, Embedding<float>> embeddings, ILogger? logger)
    {
        _embeddings = embeddings;
        _store = new VectorSetStore(memory.Connections, memory.Config.KeyPrefix);
        _index = new OwnerIndex(memory.Connections, memory.Config.KeyPrefix);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The one rule for a <c>top</c>: from 1 to <see cref="MaxTop"/>.</summary>
    /// <param name="top">The value given.</param>
    /// <param name="name">The name it was given under (a parameter, a property, a command-line option).</param>
    /// <returns>The error, naming <paramref name="name"/>; <see langword="null"/> when <paramref name="top"/> is valid.</returns>
    public static string? GetTopError(int top, string name) =>
        top is < 1 or > MaxTop ? $"{name} must be a whole number between 1 and {MaxTop} (was {top})." : null;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a <paramref name="top"/> that breaks <see cref="GetTopError"/>.</summary>
    internal static void ThrowIfTopInvalid(int top, string paramName)
    {
        if (GetTopError(top, paramName) is { } error)
        {
            throw new ArgumentOutOfRangeException(paramName, top, error);
        }
    }

    /// <summary>The stored messages of <paramref name="conversationId"/> most relevant to <paramref name="query"/>, best
    /// first: messages that have left the window (the window itself is what the model is sent anyway).</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="query">What to look for, in words (it is embedded); not empty.</param>
    /// <param name="top">How many at most, 1 to <see cref="MaxTop"/> (default 5).</param>
    /// <param name="filter">A vector-set filter over the attributes <c>.pos</c> (position among evicted messages),
    /// <c>.role</c> and <c>.ts</c> (Unix ms, when the message has a timestamp), e.g. <c>.role == "user"</c>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The recalled messages with their conversation, position and score (0 to 1, higher is closer).</returns>
    /// <exception cref="ArgumentException">An argument breaks a rule above (before any I/O), or the server refused the filter.</exception>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public async Task<IReadOnlyList<RecalledMessage>> RecallAsync(string conversationId, string query, int top = 5, string? filter = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ArgumentException.ThrowIfNullOrWhiteSpace(query);
        ThrowIfTopInvalid(top, nameof(top));
        await _store.EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
        var vector = await EmbedAsync(query, cancellationToken).ConfigureAwait(false);
        return await _store.SearchAsync(conversationId, vector, top, filter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The messages most relevant to <paramref name="query"/> across every conversation of
    /// <paramref name="owner"/> (<see cref="ChatMemoryOwners.SetOwnerAsync"/>), best first.</summary>
    /// <param name="owner">The owner; not empty.</param>
    /// <param name="query">What to look for; not empty.</param>
    /// <param name="top">How many at most, 1 to <see cref="MaxTop"/> (default 5).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The recalled messages, each with its conversation; empty when the owner has none.</returns>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public async Task<IReadOnlyList<RecalledMessage>> RecallForOwnerAsync(string owner, string query, int top = 5, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentException.ThrowIfNullOrWhiteSpace(query);
        ThrowIfTopInvalid(top, nameof(top));
        await _store.EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
        var conversations = await _index.ListAsync(owner, cancellationToken).ConfigureAwait(false);
        if (conversations.Count == 0)
        {
            return [];
        }

        var vector = await EmbedAsync(query, cancellationToken).ConfigureAwait(false);
        return await _store.SearchManyAsync([.. conversations.Select(c => (c.ConversationId, (string?)null))], vector, top, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The <c>search_memory</c> tool: an <see cref="AIFunction"/> the model calls when it chooses, with its own query
    /// (and optionally <c>top</c>), to search the messages that have left the window, of the current conversation or of
    /// its owner's (<see cref="ChatMemoryChatClientOptions.SearchTool"/>, <see cref="ChatMemorySearchToolOptions.Scope"/>).
    /// It answers with JSON, the best matches oldest first:
    /// <c>{"recalled":[{"role":"user","text":"...","time":"2026-12-06T02:51:18Z","conversation":"c","position":3}]}</c>
    /// (<c>time</c> when the message was stored with one, from <see cref="ChatMessage.CreatedAt"/>). Bad arguments, a call with no conversation and a server without
    /// vector sets are answered as <c>{"recalled":[],"error":"..."}</c>, never thrown, so the model reads what went wrong.
    /// Its schema is explicit (no reflection): trimming and native AOT keep it whole.
    /// </summary>
    /// <remarks>The conversation is <see cref="ChatMemorySearchToolOptions.ConversationId"/> when set, else the call's:
    /// the <see cref="ChatMemoryChatClient"/> middleware (<see cref="ChatMemoryChatClientOptions.RecallMode"/>) and the
    /// Agent Framework recall provider offer a copy bound to it; a tool from here put in
    /// <see cref="ChatOptions.Tools"/> yourself reads <see cref="ChatOptions.ConversationId"/> of the
    /// <see cref="FunctionInvokingChatClient"/> that invokes it. Its results are stored like any tool result, and recall
    /// does not index them again.</remarks>
    /// <param name="options">Name, description, scope and bounds of <c>top</c>; optional (copied: later changes do not apply).</param>
    /// <returns>The tool.</returns>
    /// <exception cref="ArgumentException">A setting of <paramref name="options"/> breaks a rule (named).</exception>
    public AIFunction CreateSearchTool(ChatMemorySearchToolOptions? options = null) =>
        new ChatMemorySearchTool(this, ChatMemorySearchToolOptions.ValidatedCopy(options, nameof(options)));

    /// <summary>The owner of <paramref name="conversationId"/>, or <see langword="null"/> when it has none.</summary>
    internal Task<string?> OwnerOfAsync(string conversationId, CancellationToken cancellationToken) => _index.OwnerOfAsync(conversationId, cancellationToken);

    /// <summary>How many messages of <paramref name="conversationId"/> are indexed for recall: those that left the window
    /// and were folded by a summarizer (0 when none, e.g. a conversation that never overflowed its window, or one written
    /// without <see cref="ChatMemoryConfig.Summarize"/> or without a summarizer running).</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The number of indexed messages.</returns>
    /// <exception cref="ArgumentException"><paramref name="conversationId"/> is null, empty or whitespace (before any I/O).</exception>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public Task<long> CountIndexedAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        return _store.CountAsync(conversationId, cancellationToken);
    }

    /// <summary>Embeds and stores a batch of pending messages (the summarizer calls this before its commit), with the
    /// list's remaining expiry, and marks the owner's conversation active.</summary>
    internal async Task IndexAsync(IDatabaseAsync database, string conversationId, RedisKey key, PendingBatch batch, CancellationToken cancellationToken)
    {
        // A result of the search tool quotes messages indexed already: indexed again, it would be found in their place.
        var indexable = Enumerable.Range(0, batch.Messages.Count)
            .Where(i => !string.IsNullOrWhiteSpace(batch.Messages[i].Content) && !ChatMemorySearchTool.IsResult(batch.Messages[i]))
            .ToList();
        if (indexable.Count == 0)
        {
            return;
        }

        try
        {
            await _store.EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException ex)
        {
            if (Interlocked.Exchange(ref _unsupportedLogged, 1) == 0)
            {
                RecallUnsupported(_logger, ex.Message);
            }

            return;
        }

        var embeddings = await _embeddings.GenerateAsync(indexable.Select(i => batch.Messages[i].Content), cancellationToken: cancellationToken).ConfigureAwait(false);
        var entries = new RecallEntry[indexable.Count];
        for (var e = 0; e < entries.Length; e++)
        {
            var i = indexable[e];
            entries[e] = new RecallEntry(batch.Positions[i], batch.Messages[i], embeddings[e].Vector);
        }

        var ttl = await database.KeyTimeToLiveAsync(key).ConfigureAwait(false);
        await _store.AddAsync(conversationId, entries, ttl is { } t ? Math.Max(1, (long)t.TotalMilliseconds) : 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where integrations log that recall was skipped (the logger given with <see cref="ChatMemoryFeatures.AddRecall"/>).</summary>
    internal ILogger Logger => _logger;

    /// <summary>
    /// The one context message that hands <paramref name="recalled"/> to a model: a <c>system</c> message reading
    /// <c>Earlier in this conversation (recalled, oldest first):</c> followed by a line <c>- role: text</c> per message,
    /// ordered by position (oldest first), and marked with <see cref="ContextPropertyName"/> in its
    /// <see cref="ChatMessage.AdditionalProperties"/>. What the model is sent anyway (same message id, or same role and
    /// text as one of <paramref name="present"/>) and repeats are left out. The <see cref="ChatMemoryChatClient"/>
    /// middleware (<see cref="ChatMemoryChatClientOptions.RecallTop"/>) and the Agent Framework recall provider use it.
    /// </summary>
    /// <param name="recalled">What <see cref="RecallAsync"/> returned, in any order.</param>
    /// <param name="present">The messages the model is sent besides (history and request); optional.</param>
    /// <returns>The context message; <see langword="null"/> when nothing is left to add.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="recalled"/> is null.</exception>
    public static ChatMessage? ToContextMessage(IEnumerable<RecalledMessage> recalled, IEnumerable<ChatMessage>? present = null)
    {
        ArgumentNullException.ThrowIfNull(recalled);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<(string Role, string Text)>();
        foreach (var message in present ?? [])
        {
            if (message is null)
            {
                continue;
            }

            if (message.MessageId is { Length: > 0 } id)
            {
                ids.Add(id);
            }

            seen.Add((message.Role.Value, message.Text.Trim()));
        }

        var text = new System.Text.StringBuilder();
        foreach (var hit in recalled.Where(r => r is not null).OrderBy(r => r.ConversationId, StringComparer.Ordinal).ThenBy(r => r.Position))
        {
            var message = hit.Message;
            var content = message.Content.Trim();
            if (content.Length == 0 || (message.MessageId is { Length: > 0 } id && ids.Contains(id)) || !seen.Add((message.Role, content)))
            {
                continue;
            }

            text.Append(text.Length == 0 ? ContextHeading : "").Append("\n- ").Append(message.Role).Append(": ")
                .Append(content.ReplaceLineEndings("\n  "));
        }

        return text.Length == 0
            ? null
            : new ChatMessage(ChatRole.System, text.ToString()) { AdditionalProperties = new() { [ContextPropertyName] = true } };
    }

    private async Task<ReadOnlyMemory<float>> EmbedAsync(string text, CancellationToken cancellationToken) =>
        (await _embeddings.GenerateAsync([text], cancellationToken: cancellationToken).ConfigureAwait(false))[0].Vector;
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis;

/// <summary>
/// What a <see cref="RedisChatMemory"/> is composed with at construction: its rolling-summary
/// <see cref="ChatMemorySummarizer"/>, long-term <see cref="ChatMemoryRecall"/> and <see cref="ChatMemoryOwners"/>. Give it
/// to the memory's <see cref="RedisChatMemory.Features"/> in the object initializer; get each feature back with
/// <c>memory.GetService&lt;T&gt;()</c>. (With dependency injection, <c>AddRedisChatMemory(...).AddSummarizer(...).AddRecall()</c>
/// does this.)
/// </summary>
/// <example>
/// <code>
/// var memory = new RedisChatMemory(url, new ChatMemoryConfig { Summarize = true })
/// {
///     Features = new ChatMemoryFeatures().AddSummarizer(summaryModel).AddRecall(new MiniLMEmbeddingGenerator()),
/// };
/// var recall = memory.GetRequiredService&lt;ChatMemoryRecall&gt;();
/// </code>
/// </example>
/// <remarks>Each feature is added at most once; the settings are checked here, before any I/O.</remarks>
public sealed class ChatMemoryFeatures
{
    private Func<RedisChatMemory, ChatMemorySummarizer>? _summarizer;
    private IEmbeddingGenerator<string, Embedding<float>>? _embeddings;
    private ILogger? _recallLogger;
    private bool _owners;

    /// <summary>Whether a summarizer was added.</summary>
    internal bool HasSummarizer => _summarizer is not null;

    /// <summary>Whether recall was added.</summary>
    internal bool HasRecall => _embeddings is not null;

    /// <summary>Whether owners were added (recall adds them too).</summary>
    internal bool HasOwners => _owners || HasRecall;

    /// <summary>Adds the summarizer that folds evicted messages into the rolling summary with
    /// <paramref name="summaryClient"/> and <see cref="ChatMemorySummarizerOptions.Prompt"/>; the memory tells it of every
    /// eviction. Run its <see cref="ChatMemorySummarizer.RunAsync"/> (unless <see cref="ChatMemorySummarizerOptions.Inline"/>).</summary>
    /// <param name="summaryClient">The model that writes summaries (any M.E.AI chat client).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives failures.</param>
    /// <returns>This object, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="summaryClient"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    /// <exception cref="InvalidOperationException">A summarizer was added already.</exception>
#pragma warning disable RS0026 // The overloads differ in their first, required parameter's type: never ambiguous.
    public ChatMemoryFeatures AddSummarizer(IChatClient summaryClient, ChatMemorySummarizerOptions? options = null, ILogger<ChatMemorySummarizer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(summaryClient);
        return WithSummarizer(options, logger, summaryClient, null);
    }

    /// <summary>Adds the summarizer, writing with <paramref name="reducer"/> (e.g. <c>SummarizingChatReducer</c>); see
    /// <see cref="AddSummarizer(IChatClient, ChatMemorySummarizerOptions?, ILogger{ChatMemorySummarizer}?)"/>.</summary>
    /// <param name="reducer">The reducer; given the summary so far (as an assistant message) and the pending messages.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives failures.</param>
    /// <returns>This object, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reducer"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    /// <exception cref="InvalidOperationException">A summarizer was added already.</exception>
    public ChatMemoryFeatures AddSummarizer(IChatReducer reducer, ChatMemorySummarizerOptions? options = null, ILogger<ChatMemorySummarizer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(reducer);
        return WithSummarizer(options, logger, null, reducer);
    }
#pragma warning restore RS0026

    /// <summary>Adds long-term recall, embedding with <paramref name="embeddings"/> (and owners, which recall searches
    /// across). Needs <see cref="ChatMemoryConfig.Summarize"/> and a summarizer running over the memory.</summary>
    /// <param name="embeddings">Any M.E.AI embedding generator, e.g. the offline <c>MiniLMEmbeddingGenerator</c> of
    /// RactoGateway.Redis.Embeddings. Keep it the same for a conversation's life: vectors of another model do not compare.</param>
    /// <param name="logger">Receives indexing skipped on a server without vector sets.</param>
    /// <returns>This object, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="embeddings"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Recall was added already.</exception>
    public ChatMemoryFeatures AddRecall(IEmbeddingGenerator<string, Embedding<float>> embeddings, ILogger<ChatMemoryRecall>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (_embeddings is not null)
        {
            throw new InvalidOperationException("Recall was added already: a memory has one ChatMemoryRecall.");
        }

        _embeddings = embeddings;
        _recallLogger = logger;
        return this;
    }

    /// <summary>Adds <see cref="ChatMemoryOwners"/> (owner lists and erasure; no embedder, no vector sets needed).</summary>
    /// <returns>This object, for chaining.</returns>
    public ChatMemoryFeatures AddOwners()
    {
        _owners = true;
        return this;
    }

    /// <summary>The composed features of <paramref name="memory"/>, built while it is constructed.</summary>
    internal (ChatMemorySummarizer? Summarizer, ChatMemoryRecall? Recall, ChatMemoryOwners? Owners) Compose(RedisChatMemory memory, ChatMemoryConfig config)
    {
        if ((HasSummarizer || HasRecall) && !config.Summarize)
        {
            throw new ArgumentException(
                "The summarizer and recall work on evicted messages, which the memory does not keep: set ChatMemoryConfig.Summarize to true.", nameof(config));
        }

        var owners = HasOwners ? new ChatMemoryOwners(memory) : null;
        var recall = _embeddings is null ? null : new ChatMemoryRecall(memory, _embeddings, _recallLogger);
        return (_summarizer?.Invoke(memory), recall, owners);
    }

    private ChatMemoryFeatures WithSummarizer(ChatMemorySummarizerOptions? options, ILogger? logger, IChatClient? client, IChatReducer? reducer)
    {
        var copy = ChatMemorySummarizerOptions.ValidatedCopy(options, nameof(options));

        if (_summarizer is not null)
        {
            throw new InvalidOperationException("A summarizer was added already: a memory has one ChatMemorySummarizer.");
        }

        _summarizer = memory => ChatMemorySummarizer.Compose(memory, copy, logger, client, reducer);
        return this;
    }
}

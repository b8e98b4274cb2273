using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RactoGateway.Redis.Admin;
using RactoGateway.Redis.Diagnostics;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// Folds the messages a <see cref="RedisChatMemory"/> with <see cref="ChatMemoryConfig.Summarize"/> evicts into each
/// conversation's rolling summary, with a chat model (or an <see cref="IChatReducer"/>). The summary lives in the
/// conversation's own list, so every replica and Python reader sees it.
/// </summary>
/// <remarks>
/// <para>Exactly once: each summarization reads the summary and a batch of pending messages, asks the model, and commits
/// only if nobody changed the summary in between (one script, compare-and-set); a loser throws its text away and reads
/// again. Any number of summarizers, in any number of processes, can run on the same conversations.</para>
/// <para>One at a time per conversation: a summarizer takes a short lease on the conversation (renewed while it works)
/// before reading, and one that finds it taken waits for it, then reads what is left (usually nothing). So racing
/// replicas embed and summarize each message once; the compare-and-set stays the guarantee should a lease expire.</para>
/// <para>Off the hot path: composed into the memory (<see cref="ChatMemoryFeatures.AddSummarizer(IChatClient, ChatMemorySummarizerOptions?, ILogger{ChatMemorySummarizer}?)"/>),
/// it is told of every append that leaves pending messages and notes the conversation for <see cref="RunAsync"/> (the
/// hosted service runs it), unless <see cref="ChatMemorySummarizerOptions.Inline"/>. A summarizer constructed directly
/// over a memory is told of nothing: it works when called (<see cref="SummarizePendingAsync"/>, <see cref="SweepAsync"/>,
/// and <see cref="RunAsync"/>'s sweeps). Pending messages live in Redis, so the work of a process that dies is done by
/// the next one that sees the conversation (an append, or a sweep).</para>
/// <para>With a <see cref="ChatMemoryRecall"/> composed into the memory, each batch is indexed before it is folded in;
/// with <see cref="ChatMemoryOwners"/>, an owned conversation without a title takes it before its first messages go.</para>
/// </remarks>
public sealed partial class ChatMemorySummarizer
{
    // Commits lost to other summarizers in a row before SummarizePendingAsync leaves the conversation to them.
    private const int MaxLostRaces = 16;

    private readonly RedisChatMemory _memory;
    private readonly string _keyPrefix;
    private readonly bool _tracedIds;
    private readonly ChatMemorySummarizerOptions _options;
    private readonly Func<string, IReadOnlyList<ChatMemoryMessage>, CancellationToken, Task<string>> _write;
    private readonly SummaryScript _script;
    private readonly ILogger _logger;
    private readonly Channel<(string ConversationId, long QueuedAt)> _queue = Channel.CreateUnbounded<(string, long)>();
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly SummaryLease _lease;
    private int _leaseRefusedLogged;

#pragma warning disable RS0026 // The constructors differ in their second, required parameter's type: never ambiguous.
    /// <summary>Summarizes with <paramref name="summaryClient"/> and <see cref="ChatMemorySummarizerOptions.Prompt"/>.</summary>
    /// <param name="memory">A memory with <see cref="ChatMemoryConfig.Summarize"/> on.</param>
    /// <param name="summaryClient">The model that writes summaries (any M.E.AI chat client).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives failures and dropped messages.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="memory"/> does not summarize, or <paramref name="options"/> is invalid.</exception>
    public ChatMemorySummarizer(RedisChatMemory memory, IChatClient summaryClient, ChatMemorySummarizerOptions? options = null, ILogger<ChatMemorySummarizer>? logger = null)
        : this(memory, ChatMemorySummarizerOptions.ValidatedCopy(options, nameof(options)), logger, summaryClient ?? throw new ArgumentNullException(nameof(summaryClient)), null)
    {
    }

    /// <summary>Summarizes with <paramref name="reducer"/> (e.g. <c>SummarizingChatReducer</c>, which keeps its own prompt
    /// and client): everything it returns becomes the summary's text.</summary>
    /// <param name="memory">A memory with <see cref="ChatMemoryConfig.Summarize"/> on.</param>
    /// <param name="reducer">The reducer; given the summary so far (as an assistant message) and the pending messages.</param>
    /// <param name="options">Settings (<see cref="ChatMemorySummarizerOptions.Prompt"/> and MaxSummaryTokens are the reducer's own business).</param>
    /// <param name="logger">Receives failures and dropped messages.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="memory"/> does not summarize, or <paramref name="options"/> is invalid.</exception>
    public ChatMemorySummarizer(RedisChatMemory memory, IChatReducer reducer, ChatMemorySummarizerOptions? options = null, ILogger<ChatMemorySummarizer>? logger = null)
        : this(memory, ChatMemorySummarizerOptions.ValidatedCopy(options, nameof(options)), logger, null, reducer ?? throw new ArgumentNullException(nameof(reducer)))
    {
    }
#pragma warning restore RS0026

    private ChatMemorySummarizer(RedisChatMemory memory, ChatMemorySummarizerOptions options, ILogger? logger, IChatClient? client, IChatReducer? reducer)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var config = memory.Config;
        if (!config.Summarize)
        {
            throw new ArgumentException("The memory does not keep evicted messages: set ChatMemoryConfig.Summarize to true.", nameof(memory));
        }

        _memory = memory;
        _keyPrefix = config.KeyPrefix;
        _tracedIds = config.IncludeConversationIdInTelemetry;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _script = new SummaryScript(config);
        _lease = new SummaryLease(config.KeyPrefix);
        _write = client is not null ? SummaryText.FromClient(client, options) : SummaryText.FromReducer(reducer!);
    }

    /// <summary>The summarizer a memory composes (<see cref="ChatMemoryFeatures"/>): options validated already.</summary>
    internal static ChatMemorySummarizer Compose(RedisChatMemory memory, ChatMemorySummarizerOptions options, ILogger? logger, IChatClient? client, IChatReducer? reducer) =>
        new(memory, options, logger, client, reducer);

    /// <summary>Folds every pending message of <paramref name="conversationId"/> into its summary, a batch of at most
    /// <see cref="ChatMemorySummarizerOptions.MaxMessagesPerCall"/> per model call, until none is left (or other
    /// summarizers keep winning the race for them).</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the work between steps; a commit already sent may land.</param>
    /// <returns>The number of messages this call folded in.</returns>
    /// <exception cref="Exception">The model's or Redis's failure, as thrown: the messages stay pending.</exception>
    public async Task<int> SummarizePendingAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var key = (RedisKey)_memory.GetKey(conversationId);
        var database = (await _memory.Connections.NextAsync().ConfigureAwait(false)).Database;
        await using var lease = await TakeLeaseAsync(database, conversationId, cancellationToken).ConfigureAwait(false);
        var folded = 0;
        for (var lost = 0; lost < MaxLostRaces;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = await _script.ReadAsync(database, key, _options.MaxMessagesPerCall).ConfigureAwait(false);
            if (batch is null || batch.Count == 0)
            {
                break;
            }

            var activity = ChatMemoryInstruments.StartSummary(_keyPrefix, _tracedIds ? conversationId : null);
            var started = Stopwatch.GetTimestamp();
            try
            {
                // Recall first: a batch is committed only once it is indexed, and indexing is idempotent by position.
                if (_memory.Recall is { } recall)
                {
                    await recall.IndexAsync(database, conversationId, key, batch, cancellationToken).ConfigureAwait(false);
                }

                if (_memory.Owners is { } owners)
                {
                    await owners.BeforeFoldAsync(conversationId, batch.Messages, cancellationToken).ConfigureAwait(false);
                }

                var text = batch.Messages.Count == 0 ? batch.Summary : await _write(batch.Summary, batch.Messages, cancellationToken).ConfigureAwait(false);
                if (string.IsNullOrWhiteSpace(text) && batch.Messages.Count > 0)
                {
                    throw new InvalidOperationException("The summarizing model answered with no text; the messages stay pending.");
                }

                var (committed, left) = await _script.CommitAsync(database, key, batch, text).ConfigureAwait(false);
                ChatMemoryInstruments.EndSummary(activity, started, committed ? batch.Count : 0, null);
                if (committed)
                {
                    folded += batch.Count;
                    lost = 0;
                    if (left == 0)
                    {
                        break;
                    }
                }
                else
                {
                    lost++;
                }
            }
            catch (Exception ex)
            {
                ChatMemoryInstruments.EndSummary(activity, started, 0, ex);
                throw;
            }
        }

        return folded;
    }

    // Waits while another summarizer holds the conversation: it folds what is pending, so what is left to read after it
    // is usually nothing. A holder that died frees it within SummaryLease.Duration.
    private async Task<SummaryLease.Held> TakeLeaseAsync(IDatabaseAsync database, string conversationId, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromMilliseconds(20);
        for (var first = true; ; first = false)
        {
            if (await _lease.TryTakeAsync(database, conversationId).ConfigureAwait(false) is { } held)
            {
                if (_lease.Refused && Interlocked.Exchange(ref _leaseRefusedLogged, 1) == 0)
                {
                    LeaseRefused(_logger);
                }

                return held;
            }

            if (first)
            {
                LeaseBusy(_logger);
            }

            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 500));
        }
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled: summarizes each conversation an append of
    /// the memory left with pending messages, <see cref="ChatMemorySummarizerOptions.MaxConcurrency"/> at a time, and
    /// sweeps every conversation at start and every <see cref="ChatMemorySummarizerOptions.SweepInterval"/>. Failures are
    /// logged and counted; the messages stay pending for a later try. The hosted service
    /// (<c>AddRedisChatMemorySummarizer</c>) runs this.</summary>
    /// <param name="cancellationToken">Stops the loop.</param>
    /// <returns>A task that completes when the loop has stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var workers = Enumerable.Range(0, _options.MaxConcurrency).Select(_ => WorkAsync(cancellationToken)).ToList();
        try
        {
            do
            {
                await SweepAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.SweepInterval, cancellationToken).ConfigureAwait(false);
            }
            while (true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    /// <summary>Queues every conversation of the memory's prefix that has pending messages for <see cref="RunAsync"/>
    /// (one SCAN of the keys, and a read of each list's head).</summary>
    /// <param name="cancellationToken">Stops the scan.</param>
    /// <returns>The number of conversations found with pending messages.</returns>
    public async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        var keys = new ConversationKey(_keyPrefix);
        var connection = await _memory.Connections.NextAsync().ConfigureAwait(false);
        var found = 0;
        try
        {
            await foreach (var key in ConversationScan.KeysAsync(connection.Multiplexer, keys.Pattern(null, literal: false), cancellationToken).ConfigureAwait(false))
            {
                var batch = await TryReadAsync(connection.Database, key).ConfigureAwait(false);
                if (batch is { Header.Pending: > 0 })
                {
                    found++;
                    await Enqueue(keys.IdOf(key), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            SweepFailed(_logger, ex);
        }

        return found;
    }

    private async Task<PendingBatch?> TryReadAsync(IDatabaseAsync database, RedisKey key)
    {
        try
        {
            return await _script.ReadAsync(database, key, 1).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            return null; // another kind of key under the prefix
        }
    }

    private ValueTask Enqueue(string conversationId, CancellationToken cancellationToken)
    {
        Queue(conversationId);
        return ValueTask.CompletedTask;
    }

    private void Queue(string conversationId)
    {
        if (_queued.TryAdd(conversationId, 0))
        {
            _queue.Writer.TryWrite((conversationId, Environment.TickCount64));
        }
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (conversationId, queuedAt) in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // Let evictions gather (the queue is in order, so this waits at most Delay per conversation), then take it
                // off the set: an append during the work queues it again.
                var wait = queuedAt + (long)_options.Delay.TotalMilliseconds - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken).ConfigureAwait(false);
                }

                _queued.TryRemove(conversationId, out _);
                await SummarizeLoggedAsync(conversationId, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Told by the memory that an append left <paramref name="conversationId"/> with pending messages: inline,
    /// summarizes before returning; otherwise queues it for <see cref="RunAsync"/>.</summary>
    internal ValueTask OnPendingAsync(string conversationId, CancellationToken cancellationToken) =>
        _options.Inline ? new ValueTask(SummarizeLoggedAsync(conversationId, cancellationToken)) : Enqueue(conversationId, cancellationToken);

    /// <summary>The same, for a synchronous append, which never waits for a model: inline, the summarization starts in
    /// the background (its failure is logged like any other) and the append returns.</summary>
    internal void OnPending(string conversationId)
    {
        if (_options.Inline)
        {
            _ = Task.Run(() => SummarizeLoggedAsync(conversationId, CancellationToken.None));
        }
        else
        {
            Queue(conversationId);
        }
    }

    private async Task SummarizeLoggedAsync(string conversationId, CancellationToken cancellationToken)
    {
        try
        {
            await SummarizePendingAsync(conversationId, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            SummarizationFailed(_logger, ex);
        }
    }
}

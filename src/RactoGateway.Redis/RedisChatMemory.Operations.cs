using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Diagnostics;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// The steps every public operation shares: the checked key, the budget's counter, the append core, each Redis call run
// as one traced, timed operation, and the switch to disposed.
public sealed partial class RedisChatMemory
{
    private Task AppendCoreAsync(string conversationId, RedisKey key, ChatMemoryMessage[] batch, CancellationToken cancellationToken)
    {
        var appended = ChatMemoryInstruments.RunAsync(
            "append", _config.KeyPrefix, TracedId(conversationId), (_append, _connections.Next(), key, batch), static s => s.Item1.AppendAsync(s.Item2, s.Item3, s.Item4), cancellationToken, batch.Length).AsTask();
        return _config.Summarize ? AfterEvictionAsync(conversationId, appended, cancellationToken) : appended;
    }

    private void AppendCore(string conversationId, RedisKey key, ChatMemoryMessage[] batch)
    {
        var outcome = Run("append", conversationId, (_append, _connections.Next(), key, batch), static s => s.Item1.Append(s.Item2, s.Item3, s.Item4), batch.Length);
        if (_config.Summarize)
        {
            AfterEviction(conversationId, outcome)?.AsTask().GetAwaiter().GetResult();
        }
    }

    // Under a rolling summary: count and log what the cap dropped, and tell the summarizer there is work (inline, it
    // does the work before the append returns).
    private async Task AfterEvictionAsync(string conversationId, Task<AppendOutcome> appended, CancellationToken cancellationToken)
    {
        if (AfterEviction(conversationId, await appended.ConfigureAwait(false), cancellationToken) is { } work)
        {
            await work.ConfigureAwait(false);
        }
    }

    private ValueTask? AfterEviction(string conversationId, AppendOutcome outcome, CancellationToken cancellationToken = default)
    {
        if (outcome.Dropped > 0)
        {
            ChatMemoryInstruments.RecordPendingDropped(outcome.Dropped);
            LogDropped(outcome.Dropped);
        }

        if (outcome.Pending > 0)
        {
            ChatMemoryInstruments.RecordPending(outcome.Pending);
            return PendingObserverSlot?.Invoke(conversationId, cancellationToken);
        }

        return null;
    }

    /// <summary>Long-term recall, when a <see cref="ChatMemoryRecall"/> is attached: the summarizer indexes each batch
    /// there before folding it in, and <see cref="ClearAsync"/> deletes the conversation's vectors too.</summary>
    internal ChatMemoryRecall? RecallSlot;

    /// <summary>Told of every conversation an append left with pending messages (the summarizer sets it, once).</summary>
    internal Func<string, CancellationToken, ValueTask>? PendingObserverSlot;

    // With no summarizer running every evicting append drops: one warning per interval, with the count since the last.
    private void LogDropped(long dropped)
    {
        var unlogged = Interlocked.Add(ref _droppedUnlogged, dropped);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _droppedLoggedAt);
        if ((last == 0 || now - last >= DroppedLogIntervalMs) && Interlocked.CompareExchange(ref _droppedLoggedAt, now, last) == last)
        {
            PendingDropped(_logger, Interlocked.Exchange(ref _droppedUnlogged, 0), _config.MaxPendingMessages);
        }
    }

    private const long DroppedLogIntervalMs = 10_000;
    private long _droppedUnlogged;
    private long _droppedLoggedAt;

    [LoggerMessage(2, LogLevel.Warning, "Dropped {DroppedCount} pending message(s) past MaxPendingMessages ({MaxPending}) before they were summarized (at most one such warning every 10 s): is a summarizer running?", EventName = "PendingMessagesDropped")]
    private static partial void PendingDropped(ILogger logger, long droppedCount, int maxPending);

    /// <summary>Runs one Redis call as one traced, timed operation (see <see cref="ChatMemoryInstruments.RunAsync"/>).</summary>
    private ValueTask<T> RunAsync<TState, T>(string operation, string conversationId, TState state, Func<TState, Task<T>> call, CancellationToken cancellationToken) =>
        ChatMemoryInstruments.RunAsync(operation, _config.KeyPrefix, TracedId(conversationId), (state, call), static s => new ValueTask<T>(s.call(s.state)), cancellationToken);

    private T Run<TState, T>(string operation, string conversationId, TState state, Func<TState, T> call, int appended = 0) =>
        ChatMemoryInstruments.Run(operation, _config.KeyPrefix, TracedId(conversationId), state, call, appended);

    private string? TracedId(string conversationId) => _config.IncludeConversationIdInTelemetry ? conversationId : null;

    private IChatTokenCounter CounterFor(int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        return _config.TokenCounter ?? throw new InvalidOperationException(
            "Reading under a token budget needs ChatMemoryConfig.TokenCounter: set it, e.g. to O200kTokenCounter.Instance from the RactoGateway.Redis.Tokenizers package.");
    }

    private RedisKey KeyFor(string conversationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _keys.For(conversationId);
    }

    /// <summary>Marks this object disposed; true only the first time.</summary>
    private bool Detach()
    {
        if (_disposed)
        {
            return false;
        }

        _disposed = true;
        return true;
    }
}

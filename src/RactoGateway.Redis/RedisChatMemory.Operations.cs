using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Connection;
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
        var appended = ExecuteAsync<AppendScript.AppendCommand, AppendOutcome>("append", conversationId, _append.Command(key, Stamped(batch)), cancellationToken, batch.Length).AsTask();
        return _config.Summarize ? AfterEvictionAsync(conversationId, appended, cancellationToken) : appended;
    }

    // ChatMemoryConfig.StampTimes: the batch is always an array of this call's own (the rules copy what callers pass).
    private ChatMemoryMessage[] Stamped(ChatMemoryMessage[] batch)
    {
        if (_config.StampTimes)
        {
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < batch.Length; i++)
            {
                if (batch[i].Timestamp is null)
                {
                    batch[i] = batch[i] with { Timestamp = now };
                }
            }
        }

        return batch;
    }

    private void AppendCore(string conversationId, RedisKey key, ChatMemoryMessage[] batch)
    {
        var outcome = Execute<AppendScript.AppendCommand, AppendOutcome>("append", conversationId, _append.Command(key, Stamped(batch)), batch.Length);
        if (_config.Summarize && Evicted(outcome))
        {
            _summarizer?.OnPending(conversationId);
        }
    }

    // Under a rolling summary: count and log what the cap dropped, and tell the summarizer there is work (inline, it
    // does the work before an async append returns; a sync append never waits for a model).
    private async Task AfterEvictionAsync(string conversationId, Task<AppendOutcome> appended, CancellationToken cancellationToken)
    {
        if (Evicted(await appended.ConfigureAwait(false)) && _summarizer is { } summarizer)
        {
            await summarizer.OnPendingAsync(conversationId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records what an append evicted; whether it left pending messages.</summary>
    private bool Evicted(AppendOutcome outcome)
    {
        if (outcome.Dropped > 0)
        {
            ChatMemoryInstruments.RecordPendingDropped(outcome.Dropped);
            LogDropped(outcome.Dropped);
        }

        if (outcome.Pending > 0)
        {
            ChatMemoryInstruments.RecordPending(outcome.Pending);
            return true;
        }

        return false;
    }

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

    /// <summary>Runs <paramref name="command"/> as one traced, timed operation (see <see cref="ChatMemoryInstruments.RunAsync"/>)
    /// on the next connection, opening the connections first on the first call.</summary>
    private ValueTask<T> ExecuteAsync<TCommand, T>(string operation, string conversationId, TCommand command, CancellationToken cancellationToken, int appended = 0)
        where TCommand : struct, IChatCommand<T> =>
        ChatMemoryInstruments.RunAsync(operation, _config.KeyPrefix, TracedId(conversationId), (_connections, command), static s => s.Item1.RunAsync<TCommand, T>(s.Item2), cancellationToken, appended);

    /// <inheritdoc cref="ExecuteAsync"/>
    private T Execute<TCommand, T>(string operation, string conversationId, TCommand command, int appended = 0)
        where TCommand : struct, IChatCommand<T> =>
        ChatMemoryInstruments.Run(operation, _config.KeyPrefix, TracedId(conversationId), (_connections, command), static s => s.Item1.Run<TCommand, T>(s.Item2), appended);

    /// <summary><c>LLEN key</c>.</summary>
    private static PlainCommand<long> CountCommand(RedisKey key) =>
        new(key, static (database, k) => database.ListLengthAsync(k), static (database, k) => database.ListLength(k));

    /// <summary><c>DEL key</c>.</summary>
    private static PlainCommand<bool> ClearCommand(RedisKey key) =>
        new(key, static (database, k) => database.KeyDeleteAsync(k), static (database, k) => database.KeyDelete(k));

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

using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// Branches: a truncation is one script on the conversation's key (branch.lua); a fork reads the source with the same
// script and writes the copy with restore.lua, which stores only into an empty key, so source and target may be on
// different cluster slots and a retry converges. Thin executors around the commands AppendScript builds, read by
// BranchOutcome; the sync twins run the same commands.
public sealed partial class RedisChatMemory : IChatMemoryBranches
{
    /// <inheritdoc/>
    /// <remarks>
    /// <para>One script (<c>branch.lua</c>) computes the cut and checks <paramref name="keep"/> before its first write:
    /// <c>LTRIM</c> to the kept elements (the key is deleted when nothing is kept), then the expiry restarts as on an
    /// append (<see cref="ChatMemoryConfig.Ttl"/>). The kept messages are not re-trimmed by the window rules; what a
    /// model is sent (<see cref="GetChatMessagesAsync(string, CancellationToken)"/>) stays a valid request, even when the
    /// cut leaves a tool call without its results.</para>
    /// <para>Recall: only messages that have left the window are indexed, and those are never cut, so a truncation
    /// removes no recall entry. The summary's counters and epoch are unchanged: a summarizer running meanwhile commits
    /// exactly as it would have.</para>
    /// </remarks>
    public async Task<long> TruncateAsync(string conversationId, int keep, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        var reply = await ExecuteAsync<AppendScript.ScriptCommand, RedisResult>("truncate", conversationId, _append.Truncate(key, keep), cancellationToken).ConfigureAwait(false);
        return BranchOutcome.From(reply).OrThrow(conversationId, keep).Removed;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// <para>Two steps, each atomic: <c>branch.lua</c> reads the source's first messages (the same rule as
    /// <see cref="TruncateAsync"/>), then <c>restore.lua</c> stores them byte for byte into the target only when the target
    /// is empty, with this memory's <see cref="ChatMemoryConfig.Ttl"/>. Either the whole copy is written or nothing is. A
    /// retry after a lost reply finds the target holding exactly the copy and returns as done; a target that holds anything
    /// else is refused. The source may change between the steps; the copy is the source as it was read.</para>
    /// <para>The copy carries the summary element as it is (text, counters, epoch) and its pending messages, so its
    /// summarizer folds them and numbers what it indexes for recall after the source's own positions; a summarizer
    /// composed with this memory is told of the copy's pending messages. Recall of the copy starts empty: the source's
    /// recall entries (its vector set) are not copied, so recall on the copy sees only messages that leave the copy's own
    /// window from now on, never the source's; the summary's text still carries what was folded before the fork. The copy
    /// has no owner (<see cref="ChatMemoryOwners.SetOwnerAsync"/> gives it one).</para>
    /// </remarks>
    public async Task<long> ForkAsync(string sourceId, string targetId, int keep, CancellationToken cancellationToken = default)
    {
        var (source, target) = ForkKeys(sourceId, targetId, keep);
        var read = BranchOutcome.From(await ExecuteAsync<AppendScript.ScriptCommand, RedisResult>(
            "fork", sourceId, _append.ReadFirst(source, keep), cancellationToken).ConfigureAwait(false)).OrThrow(sourceId, keep);
        var stored = BranchOutcome.Stored(await ExecuteAsync<AppendScript.ScriptCommand, RedisResult>(
            "fork", targetId, _append.Copy(target, read.Elements), cancellationToken).ConfigureAwait(false));
        if (stored < 0)
        {
            var existing = await ExecuteAsync<PlainCommand<RedisValue[]>, RedisValue[]>("fork", targetId, RangeCommand(target), cancellationToken).ConfigureAwait(false);
            return Converged(existing, read.Elements, targetId);
        }

        if (_summarizer is { } summarizer && PendingOf(read.Elements) > 0)
        {
            await summarizer.OnPendingAsync(targetId, cancellationToken).ConfigureAwait(false);
        }

        return stored;
    }

    /// <inheritdoc cref="TruncateAsync(string, int, CancellationToken)"/>
    public long Truncate(string conversationId, int keep)
    {
        var key = KeyFor(conversationId);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        var reply = Execute<AppendScript.ScriptCommand, RedisResult>("truncate", conversationId, _append.Truncate(key, keep));
        return BranchOutcome.From(reply).OrThrow(conversationId, keep).Removed;
    }

    /// <inheritdoc cref="ForkAsync(string, string, int, CancellationToken)"/>
    /// <remarks>Never waits for a model: with an inline summarizer, the summarization of the copy's pending messages runs
    /// in the background.</remarks>
    public long Fork(string sourceId, string targetId, int keep)
    {
        var (source, target) = ForkKeys(sourceId, targetId, keep);
        var read = BranchOutcome.From(Execute<AppendScript.ScriptCommand, RedisResult>("fork", sourceId, _append.ReadFirst(source, keep))).OrThrow(sourceId, keep);
        var stored = BranchOutcome.Stored(Execute<AppendScript.ScriptCommand, RedisResult>("fork", targetId, _append.Copy(target, read.Elements)));
        if (stored < 0)
        {
            return Converged(Execute<PlainCommand<RedisValue[]>, RedisValue[]>("fork", targetId, RangeCommand(target)), read.Elements, targetId);
        }

        if (PendingOf(read.Elements) > 0)
        {
            _summarizer?.OnPending(targetId);
        }

        return stored;
    }

    /// <summary>Checks a fork's arguments before any I/O; the two keys.</summary>
    private (RedisKey Source, RedisKey Target) ForkKeys(string sourceId, string targetId, int keep)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(targetId);
        if (string.Equals(sourceId, targetId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"targetId must name another conversation than sourceId ('{sourceId}'): a fork writes a new conversation (TruncateAsync cuts one in place).", nameof(targetId));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (_keys.For(sourceId), _keys.For(targetId));
    }

    /// <summary>A target that exists: done when it holds exactly the copy (a retry whose first attempt was stored),
    /// otherwise refused.</summary>
    private static long Converged(RedisValue[] existing, RedisValue[] copy, string targetId) =>
        existing.AsSpan().SequenceEqual(copy) ? copy.Length : throw BranchOutcome.TargetExists(targetId, nameof(targetId));

    /// <summary>The pending messages of a copy's summary (0 without one): its summarizer has work.</summary>
    private int PendingOf(RedisValue[] elements)
    {
        var head = Math.Min(elements.Length, (_config.Window.PinSystemMessages ? _config.Window.MaxPinnedMessages : 0) + 1);
        for (var i = 0; i < head; i++)
        {
            if (SummaryElement.TryReadHeader(((ReadOnlyMemory<byte>)elements[i]).Span, out var header))
            {
                return (int)Math.Min(header.Pending, int.MaxValue);
            }
        }

        return 0;
    }

    /// <summary><c>LRANGE key 0 -1</c>, as stored.</summary>
    private static PlainCommand<RedisValue[]> RangeCommand(RedisKey key) =>
        new(key, static (database, k) => database.ListRangeAsync(k), static (database, k) => database.ListRange(k));
}

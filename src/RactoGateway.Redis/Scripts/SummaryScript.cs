using System.Globalization;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The one owner of <c>summary.lua</c>'s contract, and of the read that precedes it: the summary element and the first
/// pending elements, in one <c>LRANGE</c> of the list's head (the pinned run is at most MaxPinnedMessages long).
/// </summary>
internal sealed class SummaryScript(ChatMemoryConfig config)
{
    private readonly int _maxHead = config.Window.PinSystemMessages ? config.Window.MaxPinnedMessages : 0;

    /// <summary>The summary of <paramref name="key"/> and up to <paramref name="batch"/> of its pending messages, oldest
    /// first; <see langword="null"/> when the conversation has no summary element. Two reads: the head (where the summary
    /// is), then exactly the pending elements taken, never the window.</summary>
    public async Task<PendingBatch?> ReadAsync(IDatabaseAsync database, RedisKey key, int batch)
    {
        var head = await database.ListRangeAsync(key, 0, _maxHead).ConfigureAwait(false);
        for (var i = 0; i < head.Length; i++)
        {
            if (!head[i].IsNull && SummaryElement.TryReadHeader(((ReadOnlyMemory<byte>)head[i]).Span, out var header))
            {
                var summary = MessageCodec.TryDecode(head[i])?.Content ?? "";
                var taken = (int)Math.Min(header.Pending, batch);
                var elements = taken == 0 ? [] : await database.ListRangeAsync(key, i + 1, i + taken).ConfigureAwait(false);
                var messages = new List<ChatMemoryMessage>(elements.Length);
                var positions = new List<long>(elements.Length);
                for (var j = 0; j < elements.Length; j++)
                {
                    // A corrupt pending element counts as folded: it could never be read anyway.
                    if (MessageCodec.TryDecode(elements[j]) is { } message)
                    {
                        messages.Add(message);
                        positions.Add(header.Position + j);
                    }
                }

                // The commit compares epoch and position: had the list changed between the two reads, it is refused.
                return new PendingBatch(header, summary, elements.Length, messages, positions);
            }
        }

        return null;
    }

    /// <summary>Replaces the summary's text with <paramref name="text"/> and removes the batch's elements, unless someone
    /// changed the summary since it was read.</summary>
    /// <returns>Whether it was committed (<see langword="false"/> when another summarizer, or the cap, or a clear was
    /// first), and the pending elements left after it.</returns>
    public async Task<(bool Committed, long PendingLeft)> CommitAsync(IDatabaseAsync database, RedisKey key, PendingBatch batch, string text)
    {
        RedisValue[] args =
        [
            batch.Header.Epoch,
            batch.Header.Position.ToString(CultureInfo.InvariantCulture),
            batch.Count,
            SummaryElement.EncodeText(text),
            _maxHead,
        ];
        var result = await database.EvaluateAsync(ChatMemoryScripts.Summary, key, args).ConfigureAwait(false);
        return ((long)result[0] == 1, (long)result[1]);
    }
}

/// <summary>What a summarizer folds in one model call.</summary>
/// <param name="Header">The summary's counters as read (the commit compares them).</param>
/// <param name="Summary">The summary's text so far; empty before the first summary.</param>
/// <param name="Count">Pending elements taken (corrupt ones included: they are removed too).</param>
/// <param name="Messages">The pending messages taken, oldest first.</param>
/// <param name="Positions">Each message's position among all the conversation ever evicted (stable: recall's ids).</param>
internal sealed record PendingBatch(SummaryHeader Header, string Summary, int Count, IReadOnlyList<ChatMemoryMessage> Messages, IReadOnlyList<long> Positions);

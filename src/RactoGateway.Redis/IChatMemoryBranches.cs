namespace RactoGateway.Redis;

/// <summary>
/// Conversation branches: edit and regenerate (<see cref="TruncateAsync"/>: drop everything after a message, then append
/// the new turn) and continue a copy (<see cref="ForkAsync"/>). <see cref="RedisChatMemory"/> implements it; adapters
/// find it as they find every feature, with <c>memory.GetService&lt;IChatMemoryBranches&gt;()</c> on an
/// <see cref="IChatMemory"/>.
/// </summary>
/// <remarks>
/// <para>A separate interface rather than new members of <see cref="IChatMemory"/>: an abstract member would break every
/// existing implementer, and a default member could only throw <see cref="NotSupportedException"/>, so a decorator written
/// against today's <see cref="IChatMemory"/> would silently stop forwarding branches to the memory it wraps. Here an
/// implementation says it supports branches by implementing this, and a caller asks for them explicitly.</para>
/// <para><b>keep</b> counts messages exactly as <see cref="IChatMemory.GetHistoryAsync(string, CancellationToken)"/>
/// returns them, oldest first: the pinned system messages, then the rolling summary (a message with
/// <see cref="ChatMemoryMessage.IsSummary"/> set, listed once it has text), then the window's messages. The messages
/// waiting to be summarized (evicted from the window, not yet folded) are not listed, and neither are they ever cut: what
/// has left the window (the summary, its counters and its pending messages) is kept whole, so under a rolling summary
/// <c>keep</c> is at least the pinned run plus the summary, and a smaller one (truncating into what has been folded into
/// the summary) is refused. A stored element that cannot be decoded (which the read skips and logs) counts as one
/// message.</para>
/// </remarks>
public interface IChatMemoryBranches : IChatMemory
{
    /// <summary>Drops everything after the first <paramref name="keep"/> messages of the conversation (see the interface
    /// remarks for how they are counted), atomically: no append interleaves, and a refused call writes nothing. The
    /// summary and the messages waiting to be summarized are kept as they are; appends then continue after the kept
    /// messages.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="keep">The messages to keep, from 0 (everything, when the conversation has no summary) to the number
    /// <see cref="IChatMemory.GetHistoryAsync(string, CancellationToken)"/> returns (nothing dropped).</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>The stored elements removed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keep"/> is negative (before any I/O), beyond the
    /// messages listed, or would cut into the summary or the pinned run in front of it: nothing was written.</exception>
    Task<long> TruncateAsync(string conversationId, int keep, CancellationToken cancellationToken = default);

    /// <summary>Copies the first <paramref name="keep"/> messages of <paramref name="sourceId"/> (counted as
    /// <see cref="TruncateAsync"/> counts them) into <paramref name="targetId"/>, a conversation that must not exist yet,
    /// with the source's pinned run and summary state (its text, its counters and its pending messages). The source is
    /// read in one atomic step and the copy written in another, only into an empty key: source and target may live on
    /// different cluster nodes, and a retry after a lost reply converges (a target that holds exactly the copy counts as
    /// done).</summary>
    /// <param name="sourceId">The conversation copied.</param>
    /// <param name="targetId">The new conversation; not <paramref name="sourceId"/>.</param>
    /// <param name="keep">The messages to copy, as for <see cref="TruncateAsync"/>.</param>
    /// <param name="cancellationToken">Stops the wait for the store's answer.</param>
    /// <returns>The elements stored in the target (the summary and its pending messages included).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keep"/> is negative (before any I/O), beyond the
    /// source's messages, or would cut into its summary: nothing was written.</exception>
    /// <exception cref="ArgumentException"><paramref name="targetId"/> is <paramref name="sourceId"/> (before any I/O), or
    /// names a conversation that exists and holds something else than the copy: nothing was written.</exception>
    Task<long> ForkAsync(string sourceId, string targetId, int keep, CancellationToken cancellationToken = default);
}

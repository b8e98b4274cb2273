using System.Text;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Recall;

/// <summary>
/// Which conversations an owner (a user or tenant) has, kept apart from the conversations themselves (keys in
/// <see cref="RecallKeys"/>): per owner a sorted set <c>{prefix}#owner:{owner}</c> (member = conversation id, score =
/// last activity in Unix ms), per conversation a hash <c>{prefix}#meta:{conversationId}</c> with its <c>owner</c> and
/// <c>title</c>. Every command touches one key, so the keys of one owner may live in different slots of a cluster.
/// </summary>
/// <remarks>
/// <para>Atomic: each single command (the activity update <c>ZADD GT</c>, the first owner and first title <c>HSETNX</c>).
/// Not atomic together: the sorted set and the hash are written one after the other, in an order that keeps one rule
/// true at every step, crash or not: <b>a hash naming owner A exists only while A's sorted set lists the
/// conversation</b>. <see cref="TouchAsync"/> writes the sorted set first; removal deletes the hash first; so
/// <see cref="DeleteOwnerAsync"/>, which walks A's sorted set, finds every conversation of A.</para>
/// <para>Every write is idempotent (<c>ZADD GT</c> keeps the latest activity whatever the order of retries;
/// <c>HSETNX</c> keeps the first owner and title; deletes of what is gone do nothing), so a retry after a crash converges.
/// Eventually consistent: between the two writes a listed conversation may have no title yet, and a conversation that
/// expired (its list's TTL) stays listed until it is removed.</para>
/// A conversation belongs to one owner: touching it for another throws <see cref="InvalidOperationException"/>. Thread-safe.
/// </remarks>
internal sealed class OwnerIndex
{
    /// <summary>The longest title kept, in UTF-16 code units (the cut never splits a surrogate pair), "…" included.</summary>
    public const int MaxTitleLength = 80;

    /// <summary>Conversations handled per step of <see cref="DeleteOwnerAsync"/> and per pipelined read of <see cref="ListAsync"/>.</summary>
    private const int Batch = 100;

    private static readonly RedisValue OwnerField = "owner";
    private static readonly RedisValue TitleField = "title";

    private readonly ConnectionSet _connections;
    private readonly RecallKeys _keys;

    /// <summary>An index over <paramref name="connections"/> for the conversations of <paramref name="keyPrefix"/>.</summary>
    public OwnerIndex(ConnectionSet connections, string keyPrefix)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
        _keys = new RecallKeys(keyPrefix);
    }

    /// <summary>The keys this index uses.</summary>
    public RecallKeys Keys => _keys;

    /// <summary>
    /// Records activity of <paramref name="owner"/>'s conversation: its last activity becomes <paramref name="activity"/>
    /// unless a later one is already recorded (<c>ZADD GT</c>), and the first owner and first title are kept
    /// (<c>HSETNX</c>). Two round trips. Call it before a conversation's first append, so that erasure finds it.
    /// </summary>
    /// <param name="owner">The owner; not empty or whitespace.</param>
    /// <param name="conversationId">The conversation; not empty or whitespace.</param>
    /// <param name="title">The first user message, or <see langword="null"/> when there is none yet; cut to
    /// <see cref="MaxTitleLength"/> (whitespace runs become one space). Ignored once a title is set.</param>
    /// <param name="activity">When the activity happened.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="ArgumentException">An id is null, empty or whitespace (before any I/O).</exception>
    /// <returns>The title the conversation has now; <see langword="null"/> when it has none.</returns>
    /// <exception cref="InvalidOperationException">The conversation belongs to another owner (nothing is changed).</exception>
    public async Task<string?> TouchAsync(string owner, string conversationId, string? title, DateTimeOffset activity, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        var cut = CutTitle(title);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var ownerKey = _keys.Owner(owner);
        var metaKey = _keys.Meta(conversationId);

        // The sorted set first: a hash naming this owner must never exist without it (see the remarks).
        await Call(database.SortedSetAddAsync(ownerKey, conversationId, activity.ToUnixTimeMilliseconds(), SortedSetWhen.GreaterThan), cancellationToken)
            .ConfigureAwait(false);
        var claim = database.HashSetAsync(metaKey, OwnerField, owner, When.NotExists);
        var named = cut is null ? Task.FromResult(false) : database.HashSetAsync(metaKey, TitleField, cut, When.NotExists);
        var recorded = database.HashGetAsync(metaKey, [OwnerField, TitleField]);
        await Call(Task.WhenAll(claim, named, recorded), cancellationToken).ConfigureAwait(false);
        if (recorded.Result[0] != owner)
        {
            // Another owner's conversation (or its claim won a race): undo this owner's listing, which it never had.
            await Call(database.SortedSetRemoveAsync(ownerKey, conversationId), cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException(
                "The conversation belongs to another owner: a conversation has one owner, recorded the first time it is touched.");
        }

        return recorded.Result[1].IsNull ? null : (string)recorded.Result[1]!;
    }

    /// <summary>The owner's conversations, newest activity first (ties by id, descending), with their titles. A
    /// conversation whose hash names another owner (a lost race, being undone) is left out.</summary>
    /// <param name="owner">The owner; not empty or whitespace.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public async Task<IReadOnlyList<OwnedConversation>> ListAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var entries = await Call(database.SortedSetRangeByRankWithScoresAsync(_keys.Owner(owner), 0, -1, Order.Descending), cancellationToken)
            .ConfigureAwait(false);
        var listed = new List<OwnedConversation>(entries.Length);
        for (var start = 0; start < entries.Length; start += Batch)
        {
            var count = Math.Min(Batch, entries.Length - start);
            var fields = new Task<RedisValue[]>[count];
            for (var i = 0; i < count; i++)
            {
                fields[i] = database.HashGetAsync(_keys.Meta((string)entries[start + i].Element!), [OwnerField, TitleField]);
            }

            await Call(Task.WhenAll(fields), cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                var (recordedOwner, title) = (fields[i].Result[0], fields[i].Result[1]);
                if (recordedOwner.IsNull || recordedOwner == owner)
                {
                    var entry = entries[start + i];
                    listed.Add(new OwnedConversation(
                        (string)entry.Element!, title.IsNull ? "" : (string)title!, DateTimeOffset.FromUnixTimeMilliseconds((long)entry.Score)));
                }
            }
        }

        return listed;
    }

    /// <summary>The owner recorded for <paramref name="conversationId"/>, or <see langword="null"/> when it has none.</summary>
    /// <param name="conversationId">The conversation; not empty or whitespace.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public async Task<string?> OwnerOfAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        var owner = await Call((await _connections.NextAsync().ConfigureAwait(false)).Database.HashGetAsync(_keys.Meta(conversationId), OwnerField), cancellationToken).ConfigureAwait(false);
        return owner.IsNull ? null : (string)owner!;
    }

    /// <summary>The owner and the title recorded for <paramref name="conversationId"/>, each <see langword="null"/> when unset.</summary>
    public async Task<(string? Owner, string? Title)> OwnerAndTitleAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var fields = await Call((await _connections.NextAsync().ConfigureAwait(false)).Database.HashGetAsync(_keys.Meta(conversationId), [OwnerField, TitleField]), cancellationToken).ConfigureAwait(false);
        return (fields[0].IsNull ? null : (string)fields[0]!, fields[1].IsNull ? null : (string)fields[1]!);
    }

    /// <summary>What an export carries of <paramref name="conversationId"/>: its owner, title and last activity (each
    /// <see langword="null"/> when unset; the title and activity only with an owner).</summary>
    public async Task<(string? Owner, string? Title, DateTimeOffset? LastActivity)> ExportInfoAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var (owner, title) = await OwnerAndTitleAsync(conversationId, cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            return (null, null, null);
        }

        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var score = await Call(database.SortedSetScoreAsync(_keys.Owner(owner), conversationId), cancellationToken).ConfigureAwait(false);
        return (owner, title, score is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms) : null);
    }

    /// <summary>
    /// An import's owner of <paramref name="conversationId"/>: <paramref name="owner"/> lists it with
    /// <paramref name="title"/> and <paramref name="activity"/> (<see cref="TouchAsync"/>). With <paramref name="replace"/>
    /// the owner recorded before, if another (or if <paramref name="owner"/> is <see langword="null"/>: no owner), first
    /// loses it (<see cref="RemoveConversationAsync"/>); without, a <see langword="null"/> owner changes nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Without <paramref name="replace"/>: it belongs to another owner.</exception>
    public async Task RestoreAsync(string conversationId, string? owner, string? title, DateTimeOffset activity, bool replace, CancellationToken cancellationToken = default)
    {
        if (replace && await OwnerOfAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } recorded && recorded != owner)
        {
            await RemoveConversationAsync(recorded, conversationId, cancellationToken).ConfigureAwait(false);
        }

        if (owner is not null)
        {
            await TouchAsync(owner, conversationId, title, activity, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes the conversation from the index (its hash, then its entry in the owner's sorted set), e.g. after the
    /// conversation was cleared. Its own keys (list, vector set) are the caller's to delete. Idempotent. A hash naming
    /// another owner is left alone.
    /// </summary>
    /// <param name="owner">The owner; not empty or whitespace.</param>
    /// <param name="conversationId">The conversation; not empty or whitespace.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>Whether the owner listed it.</returns>
    public async Task<bool> RemoveConversationAsync(string owner, string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var metaKey = _keys.Meta(conversationId);
        var recorded = await Call(database.HashGetAsync(metaKey, OwnerField), cancellationToken).ConfigureAwait(false);
        if (recorded == owner)
        {
            await Call(database.KeyDeleteAsync(metaKey), cancellationToken).ConfigureAwait(false);
        }

        return await Call(database.SortedSetRemoveAsync(_keys.Owner(owner), conversationId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Erases everything of <paramref name="owner"/>: for each conversation its sorted set lists (oldest activity first,
    /// <see cref="Batch"/> at a time), <paramref name="deleteConversation"/> deletes the conversation's own keys (list,
    /// vector set, summary), then its hash goes, then its entry in the sorted set; the sorted set itself disappears with its
    /// last entry. A crash anywhere leaves every not yet erased conversation listed, so running it again (or resuming
    /// after <paramref name="deleteConversation"/> threw) finishes the job: <paramref name="deleteConversation"/> must be
    /// idempotent (deleting what is gone does nothing). Conversations touched while it runs are erased too; one whose hash
    /// names another owner is only unlisted, never deleted.
    /// </summary>
    /// <param name="owner">The owner; not empty or whitespace.</param>
    /// <param name="deleteConversation">Deletes one conversation's keys, given its id.</param>
    /// <param name="cancellationToken">Stops before the next conversation; what is done stays done.</param>
    /// <returns>The conversations erased.</returns>
    /// <exception cref="ArgumentException">An argument is null, empty or whitespace (before any I/O).</exception>
    public async Task<int> DeleteOwnerAsync(string owner, Func<string, Task> deleteConversation, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentNullException.ThrowIfNull(deleteConversation);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var ownerKey = _keys.Owner(owner);
        var erased = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = await Call(database.SortedSetRangeByRankAsync(ownerKey, 0, Batch - 1), cancellationToken).ConfigureAwait(false);
            if (batch.Length == 0)
            {
                return erased;
            }

            var owners = new Task<RedisValue>[batch.Length];
            for (var i = 0; i < batch.Length; i++)
            {
                owners[i] = database.HashGetAsync(_keys.Meta((string)batch[i]!), OwnerField);
            }

            await Call(Task.WhenAll(owners), cancellationToken).ConfigureAwait(false);
            var unclaimed = new List<Task<bool>>(batch.Length);
            for (var i = 0; i < batch.Length; i++)
            {
                // No hash: a touch that stopped before writing it, or an erasure that stopped after deleting it: still ours.
                var recorded = owners[i].Result;
                if (recorded.IsNull || recorded == owner)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await deleteConversation((string)batch[i]!).ConfigureAwait(false);
                    erased++;
                    if (!recorded.IsNull)
                    {
                        unclaimed.Add(database.KeyDeleteAsync(_keys.Meta((string)batch[i]!)));
                    }
                }
            }

            await Call(Task.WhenAll(unclaimed), cancellationToken).ConfigureAwait(false);
            await Call(database.SortedSetRemoveAsync(ownerKey, batch), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A title from the first user message: whitespace runs become one space, ends trimmed, cut to
    /// <see cref="MaxTitleLength"/> with "…" (never inside a surrogate pair); <see langword="null"/> when nothing is left.
    /// </summary>
    public static string? CutTitle(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var builder = new StringBuilder(Math.Min(text.Length, MaxTitleLength + 1));
        var space = false;
        foreach (var c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
            if (builder.Length > MaxTitleLength)
            {
                break;
            }
        }

        if (builder.Length <= MaxTitleLength)
        {
            return builder.ToString();
        }

        var keep = MaxTitleLength - 1;
        if (char.IsHighSurrogate(builder[keep - 1]))
        {
            keep--;
        }

        return builder.ToString(0, keep).TrimEnd() + "…";
    }

    /// <summary>Waits for <paramref name="call"/> under <paramref name="cancellationToken"/>, failing the documented way.</summary>
    internal static async Task<T> Call<T>(Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (ChatConnection.AsDocumented(error) is var documented && documented != error)
        {
            throw documented;
        }
    }

    /// <inheritdoc cref="Call{T}"/>
    internal static async Task Call(Task call, CancellationToken cancellationToken)
    {
        try
        {
            await call.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (ChatConnection.AsDocumented(error) is var documented && documented != error)
        {
            throw documented;
        }
    }
}

using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Recall;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// Owners (a user or tenant id) of conversations: listing an owner's conversations with their titles, and erasing all
/// of them (the right to erasure). Needs no embedder and no vector sets: only the memory's connection and key prefix.
/// </summary>
/// <remarks>
/// <para>Composed into a memory with <see cref="ChatMemoryFeatures.AddOwners"/> (recall composes it too,
/// <see cref="ChatMemoryFeatures.AddRecall"/>), and got back with <c>memory.GetService&lt;ChatMemoryOwners&gt;()</c>. A
/// memory with owners deletes, in <see cref="IChatMemory.ClearAsync"/>, the conversation's recall vectors and its entry
/// in its owner's list, each after the list.</para>
/// <para>A conversation's title is its first user message still stored when the title is taken, pending messages (those
/// evicted and not yet folded into the summary) included. It is taken by <see cref="SetOwnerAsync"/>, by
/// <see cref="ListConversationsAsync"/> for a conversation listed without one, and by the memory's summarizer before it
/// folds an owned conversation's first messages away; once taken it is kept. So a conversation owned from its start, as
/// recommended, is titled by its very first user message.</para>
/// </remarks>
public sealed class ChatMemoryOwners
{
    // A title is written only into a conversation that still has an owner: a hash with a title and no owner would
    // outlive an erasure, which deletes only what an owner lists.
    private const string SetTitleIfOwned =
        "if redis.call('HEXISTS', KEYS[1], 'owner') == 1 then return redis.call('HSETNX', KEYS[1], 'title', ARGV[1]) end return 0";

    // Elements read per step while looking for the first user message (pinned prompts and the summary come first).
    private const int TitleReadStep = 64;

    private readonly RedisChatMemory _memory;
    private readonly OwnerIndex _index;
    private readonly VectorSetStore _vectors;

    internal ChatMemoryOwners(RedisChatMemory memory)
    {
        _memory = memory;
        var prefix = memory.Config.KeyPrefix;
        _index = new OwnerIndex(memory.Connections, prefix);
        _vectors = new VectorSetStore(memory.Connections, prefix);
    }

    /// <summary>Records <paramref name="owner"/> as the owner of <paramref name="conversationId"/> and marks it active now,
    /// and takes its title when it has none yet (see the remarks). Call it when a conversation starts, before its first
    /// append (so that erasure finds it), and whenever it is used if the owner's list should be ordered by activity;
    /// idempotent.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="owner">A user or tenant id; not empty.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the index is written.</returns>
    /// <exception cref="InvalidOperationException">The conversation belongs to another owner (nothing is changed).</exception>
    public async Task SetOwnerAsync(string conversationId, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        if (await _index.TouchAsync(owner, conversationId, null, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false) is null)
        {
            await TakeTitleAsync(conversationId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The conversations of <paramref name="owner"/>, newest activity first, each with its title (taken now for a
    /// conversation that has a user message and no title yet).</summary>
    /// <param name="owner">The owner; not empty.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The conversations; empty for an unknown owner.</returns>
    public async Task<IReadOnlyList<OwnedConversation>> ListConversationsAsync(string owner, CancellationToken cancellationToken = default)
    {
        var listed = await _index.ListAsync(owner, cancellationToken).ConfigureAwait(false);
        List<OwnedConversation>? titled = null;
        for (var i = 0; i < listed.Count; i++)
        {
            if (listed[i].Title.Length == 0 && await TakeTitleAsync(listed[i].ConversationId, cancellationToken).ConfigureAwait(false) is { } title)
            {
                titled ??= [.. listed];
                titled[i] = listed[i] with { Title = title };
            }
        }

        return titled ?? listed;
    }

    /// <summary>
    /// Erases every conversation of <paramref name="owner"/>: each list (window, summary, pending), vector set and index
    /// entry, on every node of a cluster (the right to erasure). Idempotent and resumable: run it again after a crash
    /// and it finishes; a conversation is unlisted only after its keys are gone.
    /// </summary>
    /// <param name="owner">The owner; not empty.</param>
    /// <param name="cancellationToken">Stops before the next conversation; what is erased stays erased.</param>
    /// <returns>The number of conversations erased.</returns>
    public Task<int> DeleteOwnerAsync(string owner, CancellationToken cancellationToken = default) =>
        _index.DeleteOwnerAsync(owner, async id =>
        {
            await (await _memory.Connections.NextAsync().ConfigureAwait(false)).Database.KeyDeleteAsync((RedisKey)_memory.GetKey(id)).ConfigureAwait(false);
            await _vectors.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>After the list is deleted (<see cref="IChatMemory.ClearAsync"/>): the vectors, then the owner's index entry.</summary>
    internal async Task ClearedAsync(string conversationId, Task listDeleted, CancellationToken cancellationToken)
    {
        await listDeleted.ConfigureAwait(false);
        await _vectors.DeleteAsync(conversationId, cancellationToken).ConfigureAwait(false);
        if (await _index.OwnerOfAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } owner)
        {
            await _index.RemoveConversationAsync(owner, conversationId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Before the summarizer folds <paramref name="messages"/> out of the list: an owned conversation without a
    /// title takes the first user message among them (nothing earlier is stored any more).</summary>
    internal async Task BeforeFoldAsync(string conversationId, IReadOnlyList<ChatMemoryMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.FirstOrDefault(m => m.Role == ChatRoles.User && !string.IsNullOrWhiteSpace(m.Content)) is not { } first)
        {
            return;
        }

        var (owner, title) = await _index.OwnerAndTitleAsync(conversationId, cancellationToken).ConfigureAwait(false);
        if (owner is not null && title is null)
        {
            await WriteTitleAsync(conversationId, first.Content, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes the title from the stored list (pending messages included) when the conversation has an owner and
    /// no title; returns the title it now has, or <see langword="null"/>.</summary>
    private async Task<string?> TakeTitleAsync(string conversationId, CancellationToken cancellationToken)
    {
        var database = (await _memory.Connections.NextAsync().ConfigureAwait(false)).Database;
        var key = (RedisKey)_memory.GetKey(conversationId);
        for (long start = 0; ; start += TitleReadStep)
        {
            var elements = await OwnerIndex.Call(database.ListRangeAsync(key, start, start + TitleReadStep - 1), cancellationToken).ConfigureAwait(false);
            foreach (var element in elements)
            {
                if (!element.IsNull && !SummaryElement.TryReadHeader(((ReadOnlyMemory<byte>)element).Span, out _)
                    && MessageCodec.TryDecode(element) is { Role: ChatRoles.User } message && !string.IsNullOrWhiteSpace(message.Content))
                {
                    await WriteTitleAsync(conversationId, message.Content, cancellationToken).ConfigureAwait(false);
                    return (await _index.OwnerAndTitleAsync(conversationId, cancellationToken).ConfigureAwait(false)).Title;
                }
            }

            if (elements.Length < TitleReadStep)
            {
                return null;
            }
        }
    }

    private async Task<RedisResult> WriteTitleAsync(string conversationId, string text, CancellationToken cancellationToken) =>
        await OwnerIndex.Call(
            (await _memory.Connections.NextAsync().ConfigureAwait(false)).Database.ScriptEvaluateAsync(SetTitleIfOwned, [_index.Keys.Meta(conversationId)], [OwnerIndex.CutTitle(text)]),
            cancellationToken).ConfigureAwait(false);
}

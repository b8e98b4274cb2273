using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Recall;

/// <summary>One message to store for recall: its absolute position in the conversation, the message, and its embedding.</summary>
/// <param name="Position">The message's absolute position (0 for the first message ever appended), assigned by the caller;
/// it names the element, so storing the same position again replaces it rather than adding a second one.</param>
/// <param name="Message">The message, stored in the element's attributes in the list's wire format.</param>
/// <param name="Vector">The embedding; stored normalized (only its direction counts), every entry of a set the same length.</param>
internal readonly record struct RecallEntry(long Position, ChatMemoryMessage Message, ReadOnlyMemory<float> Vector);

/// <summary>
/// A conversation's long-term recall in a vector set (Redis 8, or Garnet with <c>--enable-vector-set-preview</c>) at
/// <see cref="RecallKeys.VectorSet"/>. One element per message: its name is the decimal position, its vector the
/// normalized embedding (sent as an <c>FP32</c> blob), its attributes
/// <c>{"pos":N,"role":"...","ts":unix-ms,"msg":{...}}</c> where <c>msg</c> is the list element's JSON
/// (<see cref="MessageCodec"/>), so a search returns messages without reading the list, and a filter can use
/// <c>.pos</c>, <c>.role</c> and <c>.ts</c>.
/// </summary>
/// <remarks>
/// Whether the server has vector sets is asked once (<see cref="EnsureSupportedAsync"/>) and the answer kept; a server
/// without them gets <see cref="NotSupportedException"/> from <see cref="AddAsync"/> and <see cref="SearchAsync"/>, never
/// from <see cref="DeleteAsync"/> or <see cref="ExpireAsync"/> (which work on any server, so clearing a conversation
/// never depends on recall). Scores are reported as Redis 8 reports them; Garnet 2.2.8 answers squared Euclidean
/// distances, which on unit vectors convert exactly (see <see cref="ToSimilarity"/>). Thread-safe.
/// </remarks>
internal sealed class VectorSetStore
{
    /// <summary>What a server needs for recall; every <see cref="NotSupportedException"/> of this class says it.</summary>
    public const string Requirement = "Redis 8 or later, or Garnet started with --enable-vector-set-preview";

    /// <summary>
    /// The search exploration factor sent with every <c>VSIM</c> (<c>EF</c>; at least <c>top</c>). Measured
    /// (RecallQualityTests with CHATMEM_RECALL_EXPERIMENT=1: 50 facts among 4,000 MiniLM-embedded chat messages on
    /// Garnet 2.2.8): the server's default search found recall@5 0.86 where exact cosine found 0.88 with varied chatter,
    /// and 0.82 against 0.90 when many messages repeat word for word (2,187 distinct of 4,000, as short replies like
    /// "Thanks!" do); with <c>EF 200</c> (or sets built with <c>M 32</c>) it matched exact cosine in both. EF costs only query time, applies to sets already built (M is fixed when a set is created) and both
    /// servers accept it, so it is the knob used; M stays at the server default (its memory cost is per element).
    /// </summary>
    public const int SearchExplorationFactor = 200;

    /// <summary>Commands in flight per batch of an add.</summary>
    private const int Batch = 256;

    private const int Unknown = 0;
    private const int Supported = 1;
    private const int Unsupported = -1;

    /// <summary>Scores as Redis 8 answers them: <c>(1 + cosine) / 2</c>.</summary>
    private const int RedisSimilarity = 1;

    /// <summary>Scores as Garnet 2.2.8 answers them: squared Euclidean distance (<c>VINFO</c>: <c>distance-metric l2</c>).</summary>
    private const int SquaredDistance = 2;

    private static readonly RedisValue Fp32 = "FP32";
    private static readonly RedisValue SetAttr = "SETATTR";

    private readonly ConnectionSet _connections;
    private readonly RecallKeys _keys;
    private int _support;
    private int _scores;
    private string? _unsupportedReply;

    /// <summary>A store over <paramref name="connections"/> for the conversations of <paramref name="keyPrefix"/>.</summary>
    public VectorSetStore(ConnectionSet connections, string keyPrefix)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
        _keys = new RecallKeys(keyPrefix);
    }

    /// <summary>The keys this store uses.</summary>
    public RecallKeys Keys => _keys;

    /// <summary>
    /// Asks the server once whether it has vector sets (<c>VCARD</c> of a key no conversation has) and keeps the answer.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the answer (which is then not kept).</param>
    /// <exception cref="NotSupportedException">The server has no vector sets (Redis before 8, Garnet without the flag):
    /// the message names <see cref="Requirement"/>.</exception>
    /// <exception cref="RedisException">The server could not be asked (connection, permission): nothing is kept.</exception>
    public async Task EnsureSupportedAsync(CancellationToken cancellationToken = default)
    {
        var support = Volatile.Read(ref _support);
        if (support > Unknown)
        {
            return;
        }

        if (support == Unsupported)
        {
            throw NotSupported(_unsupportedReply, null);
        }

        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        await RunAsync([database.ExecuteAsync("VCARD", _keys.Probe)], cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _support, Supported);
    }

    /// <summary>
    /// Stores <paramref name="entries"/> in the conversation's vector set (one pipelined <c>VADD key FP32 blob position
    /// SETATTR json</c> each), then sets its expiry when <paramref name="ttlMilliseconds"/> is positive. Idempotent: an
    /// entry stored again (a retry) replaces itself, so <c>VCARD</c> does not change.
    /// </summary>
    /// <param name="conversationId">The conversation; not empty or whitespace.</param>
    /// <param name="entries">The entries; positions not negative, vectors of one length, finite and not all zero.</param>
    /// <param name="ttlMilliseconds">The set's expiry after this add (the conversation's TTL), or 0 to leave it as it is.</param>
    /// <param name="cancellationToken">Stops between batches; entries already sent stay stored.</param>
    /// <exception cref="ArgumentException">An argument breaks a rule above (before any I/O).</exception>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public async Task AddAsync(string conversationId, IReadOnlyList<RecallEntry> entries, long ttlMilliseconds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfNegative(ttlMilliseconds);
        var commands = new object[entries.Count][];
        var dimensions = entries.Count > 0 ? entries[0].Vector.Length : 0;
        var key = _keys.VectorSet(conversationId);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry.Position < 0)
            {
                throw new ArgumentException($"entries[{i}].Position must not be negative (was {entry.Position}).", nameof(entries));
            }

            if (entry.Message is null)
            {
                throw new ArgumentException($"entries[{i}].Message must not be null.", nameof(entries));
            }

            if (entry.Vector.Length != dimensions)
            {
                throw new ArgumentException(
                    $"entries[{i}].Vector has {entry.Vector.Length} dimensions; entries[0] has {dimensions}: every vector of a set has the same length.", nameof(entries));
            }

            var blob = Fp32Blob(entry.Vector.Span, $"entries[{i}].Vector", nameof(entries));
            commands[i] = [key, Fp32, (RedisValue)blob, Element(entry.Position), SetAttr, (RedisValue)Attributes(entry)];
        }

        if (entries.Count == 0)
        {
            return;
        }

        await EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var pending = new Task[Math.Min(Batch, commands.Length)];
        for (var start = 0; start < commands.Length; start += Batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(Batch, commands.Length - start);
            for (var i = 0; i < count; i++)
            {
                pending[i] = database.ExecuteAsync("VADD", commands[start + i]);
            }

            try
            {
                await RunAsync(count == pending.Length ? pending : pending[..count], cancellationToken).ConfigureAwait(false);
            }
            catch (RedisServerException error) when (IsDimensionMismatch(error))
            {
                throw new ArgumentException(
                    $"The entries' {dimensions} dimensions do not match the conversation's stored vectors (one embedding model per conversation): {error.Message}",
                    nameof(entries), error);
            }
        }

        if (ttlMilliseconds > 0)
        {
            await RunAsync([Pexpire(database, key, ttlMilliseconds)], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The stored messages closest to <paramref name="query"/>, best first: <c>VSIM key FP32 blob COUNT top EF ef WITHSCORES
    /// [FILTER expr]</c>, then <c>VGETATTR</c> of each (pipelined). Elements whose attributes are missing or not a
    /// message are skipped. A conversation with nothing stored returns an empty list.
    /// </summary>
    /// <param name="conversationId">The conversation; not empty or whitespace.</param>
    /// <param name="query">The query's embedding (same length as the stored vectors), finite and not all zero.</param>
    /// <param name="top">How many to return at most, 1 to <see cref="ChatMemoryRecall.MaxTop"/>.</param>
    /// <param name="filter">A vector-set filter over the attributes, e.g. <c>.pos &lt; 120</c> or <c>.role == "user"</c>;
    /// <see langword="null"/> for none (not empty).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The messages with their position and score (see <see cref="RecalledMessage.Score"/>).</returns>
    /// <exception cref="ArgumentException">An argument breaks a rule above, or the server refused the filter.</exception>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public async Task<IReadOnlyList<RecalledMessage>> SearchAsync(
        string conversationId, ReadOnlyMemory<float> query, int top, string? filter, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ChatMemoryRecall.ThrowIfTopInvalid(top, nameof(top));
        if (filter is not null && string.IsNullOrWhiteSpace(filter))
        {
            throw new ArgumentException("The filter must be null (none) or an expression, not empty.", nameof(filter));
        }

        var blob = Fp32Blob(query.Span, "The query", nameof(query));
        var key = _keys.VectorSet(conversationId);
        var ef = (RedisValue)Math.Max(SearchExplorationFactor, top);
        object[] args = filter is null
            ? [key, Fp32, (RedisValue)blob, "COUNT", (RedisValue)top, "EF", ef, "WITHSCORES"]
            : [key, Fp32, (RedisValue)blob, "COUNT", (RedisValue)top, "EF", ef, "WITHSCORES", "FILTER", filter];
        await EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        RedisResult reply;
        try
        {
            reply = await Call(database.ExecuteAsync("VSIM", args), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException error) when (filter is not null && error.Message.Contains("filter", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The server refused the filter '{filter}': {error.Message}", nameof(filter), error);
        }
        catch (RedisServerException error) when (IsDimensionMismatch(error))
        {
            throw new ArgumentException($"The query's {query.Length} dimensions do not match the stored vectors': {error.Message}", nameof(query), error);
        }

        var hits = ParseScores(reply);
        if (hits.Count == 0)
        {
            return [];
        }

        // How this server scores is read once per store, in the same pipeline (VINFO), while the set surely exists.
        var scores = Volatile.Read(ref _scores);
        var info = scores == Unknown ? database.ExecuteAsync("VINFO", key) : null;
        var attributes = new Task<RedisResult>[hits.Count];
        for (var i = 0; i < hits.Count; i++)
        {
            attributes[i] = database.ExecuteAsync("VGETATTR", key, hits[i].Element);
        }

        await RunAsync(info is null ? attributes : [.. attributes, info], cancellationToken).ConfigureAwait(false);
        if (info is not null && (scores = ScoreKind(info.Result)) != Unknown)
        {
            Volatile.Write(ref _scores, scores);
        }

        var found = new List<RecalledMessage>(hits.Count);
        for (var i = 0; i < hits.Count; i++)
        {
            if ((byte[]?)attributes[i].Result is { } json && TryReadAttributes(json, out var position, out var message))
            {
                found.Add(new RecalledMessage(message, conversationId, position, ToSimilarity(hits[i].Score, scores)));
            }
        }

        // Both servers answer best first; sorting (stable) makes it so whatever the conversion did to ties.
        return [.. found.OrderByDescending(m => m.Score)];
    }

    /// <summary>
    /// The stored messages closest to <paramref name="query"/> across several conversations (e.g. all of an owner's), best
    /// first: one <see cref="SearchAsync"/> per conversation, <see cref="Batch"/> at a time, merged by score.
    /// </summary>
    /// <param name="targets">The conversations, each with its own filter (<see langword="null"/> for none): e.g. the
    /// current conversation's window excluded, the others whole. Not empty; no id twice.</param>
    /// <param name="query">The query's embedding.</param>
    /// <param name="top">How many to return at most, 1 to <see cref="ChatMemoryRecall.MaxTop"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="ArgumentException">An argument breaks a rule of <see cref="SearchAsync"/> or above.</exception>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public async Task<IReadOnlyList<RecalledMessage>> SearchManyAsync(
        IReadOnlyList<(string ConversationId, string? Filter)> targets, ReadOnlyMemory<float> query, int top, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
        {
            throw new ArgumentException("At least one conversation is needed.", nameof(targets));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, filter) in targets)
        {
            if (string.IsNullOrWhiteSpace(id) || !seen.Add(id))
            {
                throw new ArgumentException($"Every conversation id must be set and appear once (found '{id}').", nameof(targets));
            }

            if (filter is not null && string.IsNullOrWhiteSpace(filter))
            {
                throw new ArgumentException($"The filter of '{id}' must be null (none) or an expression, not empty.", nameof(targets));
            }
        }

        ChatMemoryRecall.ThrowIfTopInvalid(top, nameof(top));
        _ = Fp32Blob(query.Span, "The query", nameof(query));
        var found = new List<RecalledMessage>();
        for (var start = 0; start < targets.Count; start += Batch)
        {
            var searches = targets.Skip(start).Take(Batch).Select(t => SearchAsync(t.ConversationId, query, top, t.Filter, cancellationToken)).ToArray();
            foreach (var result in await Task.WhenAll(searches).ConfigureAwait(false))
            {
                found.AddRange(result);
            }
        }

        return [.. found.OrderByDescending(m => m.Score).Take(top)];
    }

    /// <summary>How many messages the conversation's vector set holds (<c>VCARD</c>; 0 when there is none).</summary>
    /// <exception cref="NotSupportedException">The server has no vector sets.</exception>
    public async Task<long> CountAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        await EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var reply = await Call(database.ExecuteAsync("VCARD", _keys.VectorSet(conversationId)), cancellationToken).ConfigureAwait(false);
        return reply.IsNull ? 0 : (long)reply;
    }

    /// <summary>
    /// Every element of the conversation's vector set, for an export: its attributes as stored (JSON) and its vector as
    /// the server gives it back (<c>VEMB</c>; Redis 8 keeps vectors quantized to 8 bits by default, so the values are that
    /// close to what was added). Names come from <c>VRANDMEMBER</c> (all of them, each once, in draws Garnet answers: see ElementNamesAsync); attributes and
    /// vectors are read pipelined, <see cref="Batch"/> elements at a time. A conversation without a set gives an empty
    /// list on any server (<c>EXISTS</c> first), vector sets or not.
    /// </summary>
    /// <param name="conversationId">The conversation; not empty or whitespace.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The elements, in no particular order; those without attributes are left out.</returns>
    /// <exception cref="NotSupportedException">The key exists and the server has no vector sets.</exception>
    public async Task<IReadOnlyList<(byte[] Attributes, float[] Vector)>> ReadAllAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        var database = (await _connections.NextAsync().ConfigureAwait(false)).Database;
        var key = _keys.VectorSet(conversationId);
        if (!await Call(database.KeyExistsAsync(key), cancellationToken).ConfigureAwait(false))
        {
            return [];
        }

        var count = (long)await Call(database.ExecuteAsync("VCARD", key), cancellationToken).ConfigureAwait(false);
        if (count == 0)
        {
            return [];
        }

        var names = await ElementNamesAsync(database, key, count, cancellationToken).ConfigureAwait(false);
        var read = new List<(byte[], float[])>(names.Length);
        for (var start = 0; start < names.Length; start += Batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(Batch, names.Length - start);
            var attributes = new Task<RedisResult>[n];
            var vectors = new Task<RedisResult>[n];
            for (var i = 0; i < n; i++)
            {
                attributes[i] = database.ExecuteAsync("VGETATTR", key, names[start + i]);
                vectors[i] = database.ExecuteAsync("VEMB", key, names[start + i]);
            }

            await RunAsync([.. attributes, .. vectors], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < n; i++)
            {
                if ((byte[]?)attributes[i].Result is { Length: > 0 } json && !vectors[i].Result.IsNull && vectors[i].Result.Resp2Type == ResultType.Array)
                {
                    read.Add((json, Array.ConvertAll((RedisResult[])vectors[i].Result!, v => (float)(double)v)));
                }
            }
        }

        return read;
    }

    /// <summary>Most names one <c>VRANDMEMBER</c> asks for. Garnet 2.2.12 closes the connection on <c>VRANDMEMBER key N</c>
    /// with N above about 64 (80 fails one call in two, 90 and more every time; measured with 300 and 2,000 elements).</summary>
    private const int NamesPerDraw = 64;

    /// <summary>
    /// Every element name of the set, each once. A positive <c>VRANDMEMBER</c> count gives distinct names, so one draw is
    /// enough up to <see cref="NamesPerDraw"/>; beyond that, draws of <see cref="NamesPerDraw"/> go pipelined, 32 a round,
    /// until every name has come up (a coupon collector: about n·ln(n)/64 draws, 256 for 2,000 elements). Elements added
    /// meanwhile may be missed and deleted ones are skipped by the reads after; the bound on rounds turns a set that keeps
    /// changing into a clear error instead of a loop.
    /// </summary>
    private async Task<RedisValue[]> ElementNamesAsync(IDatabase database, RedisKey key, long count, CancellationToken cancellationToken)
    {
        var names = new HashSet<RedisValue>();
        var maxRounds = 16 + (int)Math.Min(100_000, 4 * count * Math.Log(count + 1) / NamesPerDraw / 32);
        for (var round = 0; names.Count < count; round++)
        {
            if (round == maxRounds)
            {
                throw new InvalidOperationException(
                    $"The vector set '{key}' gave {names.Count} of its {count} element names in {maxRounds} rounds of VRANDMEMBER; is it being written while exported?");
            }

            var draws = new Task<RedisResult>[count <= NamesPerDraw ? 1 : 32];
            for (var i = 0; i < draws.Length; i++)
            {
                draws[i] = database.ExecuteAsync("VRANDMEMBER", key, Math.Min(count, NamesPerDraw));
            }

            await RunAsync(draws, cancellationToken).ConfigureAwait(false);
            foreach (var draw in draws)
            {
                var reply = draw.Result;
                if (reply.IsNull)
                {
                    return [.. names];   // the set is gone
                }

                if (reply.Resp2Type == ResultType.Array)
                {
                    foreach (var name in (RedisResult[])reply!)
                    {
                        names.Add((RedisValue)name);
                    }
                }
                else
                {
                    names.Add((RedisValue)reply);
                }
            }

            if (count <= NamesPerDraw)
            {
                break;   // one draw of count gives them all
            }
        }

        return [.. names];
    }

    /// <summary>The conversation's vector set as <paramref name="entries"/> say, for an import: with
    /// <paramref name="replace"/> the set is deleted first (then, with no entries, stays gone); otherwise the entries are
    /// added to it (an entry at a stored position replaces it). See <see cref="AddAsync"/> for the rest.</summary>
    public async Task RestoreAsync(string conversationId, IReadOnlyList<RecallEntry> entries, long ttlMilliseconds, bool replace, CancellationToken cancellationToken = default)
    {
        if (replace)
        {
            await DeleteAsync(conversationId, cancellationToken).ConfigureAwait(false);
        }

        await AddAsync(conversationId, entries, ttlMilliseconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the conversation's vector set (<c>DEL</c>); works, and does nothing, on a server without vector
    /// sets.</summary>
    /// <returns>Whether there was one.</returns>
    public Task<bool> DeleteAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        return DeleteCoreAsync();

        async Task<bool> DeleteCoreAsync() =>
            await Call((await _connections.NextAsync().ConfigureAwait(false)).Database.KeyDeleteAsync(_keys.VectorSet(conversationId)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets the vector set's expiry (<c>PEXPIRE</c>), e.g. to follow the conversation's sliding TTL; works, and does
    /// nothing, when there is no set.</summary>
    /// <returns>Whether there was a set.</returns>
    public Task<bool> ExpireAsync(string conversationId, long ttlMilliseconds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ttlMilliseconds);
        return ExpireCoreAsync();

        async Task<bool> ExpireCoreAsync() =>
            await Call(Pexpire((await _connections.NextAsync().ConfigureAwait(false)).Database, _keys.VectorSet(conversationId), ttlMilliseconds), cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>PEXPIRE</c>, as the append script sets a conversation's expiry (StackExchange.Redis's KeyExpireAsync sends
    /// EXPIRE for whole seconds, a command a least-privilege user may not have).</summary>
    private static async Task<bool> Pexpire(IDatabaseAsync database, RedisKey key, long ttlMilliseconds) =>
        (long)await database.ExecuteAsync("PEXPIRE", key, ttlMilliseconds).ConfigureAwait(false) == 1;

    /// <summary>The element name of a position: its invariant decimal form.</summary>
    public static RedisValue Element(long position) => position.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A server score as Redis 8 reports it, <c>(1 + cosine) / 2</c>. Garnet answers the squared Euclidean distance
    /// <c>d</c>; for unit vectors <c>d = 2 - 2 cosine</c>, so the similarity is <c>1 - d / 4</c> (clamped to [0, 1]
    /// against quantization error).
    /// </summary>
    public static double ToSimilarity(double score, int semantics) =>
        semantics == SquaredDistance ? Math.Clamp(1 - (score / 4), 0, 1) : score;

    /// <summary>The attributes of <paramref name="entry"/>: <c>{"pos":N,"role":"...","ts":ms,"msg":{...}}</c> (ts only
    /// when the message has a timestamp), UTF-8.</summary>
    public static byte[] Attributes(RecallEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("pos"u8, entry.Position);
            writer.WriteString("role"u8, entry.Message.Role);
            if (entry.Message.Timestamp is { } timestamp)
            {
                writer.WriteNumber("ts"u8, timestamp.ToUnixTimeMilliseconds());
            }

            writer.WritePropertyName("msg"u8);
            writer.WriteRawValue(MessageCodec.Encode(entry.Message), skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads <see cref="Attributes"/>' JSON back; false when it is not that shape or the message is corrupt.</summary>
    public static bool TryReadAttributes(ReadOnlySpan<byte> json, out long position, out ChatMemoryMessage message)
    {
        position = -1;
        message = null!;
        ChatMemoryMessage? decoded = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("pos"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out position))
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("msg"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    decoded = MessageCodec.TryDecodeJson(json[start..(int)reader.BytesConsumed]);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (decoded is null || position < 0)
        {
            return false;
        }

        message = decoded;
        return true;
    }

    /// <summary>How a server scores, from <c>VINFO</c> of a set: Garnet 2.2.8 reports <c>distance-metric l2</c> and answers
    /// squared distances; Redis 8 reports no metric (it has only cosine) and answers similarities. <see cref="Unknown"/>
    /// when the set is gone (then read as similarities, and asked again next time).</summary>
    private static int ScoreKind(RedisResult info)
    {
        if (info.Resp2Type == ResultType.Array && !info.IsNull)
        {
            var items = (RedisResult[])info!;
            for (var i = 0; i + 1 < items.Length; i += 2)
            {
                if ((string?)items[i] == "distance-metric" && string.Equals((string?)items[i + 1], "l2", StringComparison.OrdinalIgnoreCase))
                {
                    return SquaredDistance;
                }
            }

            return RedisSimilarity;
        }

        return Unknown;
    }

    /// <summary>Whether a server error means "no vector sets here": Redis before 8 ("unknown command") or Garnet without
    /// the flag ("Vector Set (preview) commands are not enabled").</summary>
    private static bool IsMissingVectorSets(RedisServerException error) =>
        error.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase)
        || error.Message.Contains("not enabled", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a server error is a vector of the wrong length: Garnet 2.2.8 says "Vector dimension mismatch" (VADD)
    /// or "Dimensions provided do not match" (VSIM); Redis 8 "Vector dimension mismatch".</summary>
    private static bool IsDimensionMismatch(RedisServerException error) =>
        error.Message.Contains("dimension", StringComparison.OrdinalIgnoreCase);

    private static NotSupportedException NotSupported(string? reply, Exception? inner) =>
        new($"Long-term recall needs vector sets: {Requirement}. The server answered: {reply}", inner);

    /// <summary>The normalized little-endian float32 blob of <paramref name="vector"/>; refuses an empty, non-finite or zero vector.</summary>
    private static byte[] Fp32Blob(ReadOnlySpan<float> vector, string what, string paramName)
    {
        if (vector.IsEmpty)
        {
            throw new ArgumentException($"{what} must not be empty.", paramName);
        }

        double sum = 0;
        foreach (var value in vector)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException($"{what} must hold finite numbers only (found {value}).", paramName);
            }

            sum += (double)value * value;
        }

        if (sum == 0)
        {
            throw new ArgumentException($"{what} must not be all zeros: it has no direction.", paramName);
        }

        var scale = 1 / Math.Sqrt(sum);
        var blob = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(blob.AsSpan(i * sizeof(float)), (float)(vector[i] * scale));
        }

        return blob;
    }

    /// <summary>The (element, score) pairs of a <c>VSIM ... WITHSCORES</c> reply: a flat array on RESP2, a map on RESP3
    /// (which StackExchange.Redis also exposes flat).</summary>
    private static List<(RedisValue Element, double Score)> ParseScores(RedisResult reply)
    {
        if (reply.IsNull || reply.Resp2Type != ResultType.Array)
        {
            return [];
        }

        var items = (RedisResult[])reply!;
        var pairs = new List<(RedisValue, double)>(items.Length / 2);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            pairs.Add(((RedisValue)items[i], (double)items[i + 1]));
        }

        return pairs;
    }

    private async Task RunAsync(Task[] calls, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(calls).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException error) when (IsMissingVectorSets(error))
        {
            // The probe's answer, or the server changed under us (a failover to a node without vector sets): remembered,
            // and said the documented way.
            _unsupportedReply = error.Message;
            Volatile.Write(ref _support, Unsupported);
            throw NotSupported(error.Message, error);
        }
        catch (Exception error) when (ChatConnection.AsDocumented(error) is var documented && documented != error)
        {
            throw documented;
        }
    }

    private async Task<T> Call<T>(Task<T> call, CancellationToken cancellationToken)
    {
        await RunAsync([call], cancellationToken).ConfigureAwait(false);
        return await call.ConfigureAwait(false);
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Recall;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// Import: reads what ExportAsync writes. All or nothing for bad input: the whole source is read and checked first,
// and only then is each conversation written, by one run of the append script on its key (atomic per conversation).
public sealed partial class ChatMemoryAdmin
{
    /// <summary>The default longest line <see cref="ImportAsync"/> accepts: 64 MiB (64 messages of 1 MiB, the default limit).</summary>
    public const int DefaultMaxLineBytes = 64 * 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads JSON Lines as <see cref="ExportAsync"/> writes them and stores each conversation atomically, byte for byte,
    /// through the append script: messages whose id is already stored are skipped, the window of
    /// <see cref="Config"/> applies, and the expiry is <see cref="ChatMemoryConfig.Ttl"/> when set, else the line's
    /// <c>ttl_ms</c> (a line without one leaves an existing conversation's expiry alone). The line's owner, title and
    /// last activity go back into the owner index, and its recall entries (indexed messages with their vectors) into the
    /// conversation's vector set, with the same expiry.
    /// </summary>
    /// <remarks>
    /// <para>All or nothing for bad input: the whole source is checked (UTF-8, line length, JSON shape, ids, every
    /// message by the rules appends apply, custom roles allowed, every recall entry) before anything is written, and is
    /// held in memory meanwhile. A byte order mark, CRLF line ends, blank lines and a missing final newline are accepted.</para>
    /// <para>A conversation exported with a rolling summary (<see cref="ChatMemoryConfig.Summarize"/>) is restored
    /// exactly: its pinned messages, the summary with its text and counters, the messages still pending for it, and the
    /// window, byte for byte; then, when <see cref="Config"/> summarizes, its window applies, as a trim would apply it
    /// (rules without a summary would drop it as plain messages, so they leave it as exported). A summary cannot be
    /// merged into a conversation that exists: such a line needs <paramref name="replace"/>.</para>
    /// <para>Owners and recall: each conversation's owner entry is written before its messages (so that an erasure of the
    /// owner finds it, as <see cref="ChatMemoryOwners.SetOwnerAsync"/> would), its vectors after them. Without
    /// <paramref name="replace"/>, a line whose conversation belongs to another owner is refused before anything is
    /// written, and recall entries are added to the stored ones; with it, the owner and the vector set become the line's
    /// (<c>"owner": null</c> and <c>"recall": []</c> remove them). Lines written before export carried these fields (no
    /// <c>"owner"</c>, no <c>"recall"</c>) leave the conversation's owner entry and vectors as they are.</para>
    /// </remarks>
    /// <param name="source">The lines, UTF-8; read to its end.</param>
    /// <param name="replace">Replace each conversation that exists (its messages, owner entry and vectors), in the same
    /// script run for the messages, instead of appending to it.</param>
    /// <param name="maxLineBytes">The longest line accepted, at least 2.</param>
    /// <param name="includeRecall">Store the lines' recall entries (the default); <see langword="false"/> checks them and
    /// leaves them out, e.g. into a server without vector sets.</param>
    /// <param name="progress">Told the conversations written and the total; optional.</param>
    /// <param name="cancellationToken">Stops reading, or stops between conversations while writing.</param>
    /// <returns>Conversations imported and messages stored, owners and recall entries restored.</returns>
    /// <exception cref="FormatException">A line is bad, or (without <paramref name="replace"/>) carries a rolling summary
    /// for a conversation that exists, or another owner for a conversation that has one; the message names the line, and
    /// nothing was written.</exception>
    /// <exception cref="NotSupportedException">Lines carry recall entries, <paramref name="includeRecall"/> is set, and
    /// the server has no vector sets; nothing was written.</exception>
    /// <exception cref="ChatMemoryImportException">Writing failed (Redis failed, or a conversation with a rolling summary
    /// was created, or claimed by another owner, by someone else during the import); it says which line's conversation
    /// failed and what was stored before it.</exception>
    public async Task<ChatMemoryImportResult> ImportAsync(
        Stream source, bool replace = false, int maxLineBytes = DefaultMaxLineBytes, bool includeRecall = true, IProgress<ChatMemoryProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 2);
        var records = await ReadAllAsync(source, maxLineBytes, replace, cancellationToken).ConfigureAwait(false);
        if (!replace)
        {
            await RefuseSummariesOverExistingAsync(records).ConfigureAwait(false);
            await RefuseOtherOwnersAsync(records, cancellationToken).ConfigureAwait(false);
        }

        if (includeRecall && records.FirstOrDefault(r => r.Recall is { Count: > 0 }) is { } indexed)
        {
            try
            {
                await _vectors.EnsureSupportedAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NotSupportedException ex)
            {
                throw new NotSupportedException(
                    string.Create(CultureInfo.InvariantCulture, $"line {indexed.LineNumber} carries recall entries (indexed messages with their vectors), which this server cannot store. ") +
                    ex.Message + " Nothing was imported; import without them with chatmem import --no-recall (ImportAsync with includeRecall: false).", ex);
            }
        }

        long conversations = 0, messages = 0, owned = 0, recalled = 0;
        foreach (var record in records)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (record.Elements.Count > 0 || replace)
            {
                var ttl = _config.Ttl is { } configured ? AppendArguments.TtlMilliseconds(configured) : record.TtlMs ?? 0;
                var key = KeyOf(record);
                try
                {
                    if (record.OwnerGiven && (record.Owner is not null || replace))
                    {
                        // Before the messages: an erasure of the owner must find every conversation it lists.
                        var activity = record.LastActivityMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UtcNow;
                        await _owners.RestoreAsync(record.Conversation, record.Owner, record.Title, activity, replace, cancellationToken).ConfigureAwait(false);
                        owned += record.Owner is null ? 0 : 1;
                    }

                    var stored = record.Summarized
                        ? await _append.RestoreAsync(_connection, key, record.Elements, ttl, replace).ConfigureAwait(false)
                        : (await _append.RunAsync(_connection, key, _append.Arguments.Import(record.Elements, ttl, replace)).ConfigureAwait(false)).Stored;
                    if (stored < 0)
                    {
                        throw new ChatMemoryImportException(record.LineNumber, conversations, messages, new InvalidOperationException(
                            $"conversation '{MessageRules.Shown(record.Conversation)}' was created during the import, and a rolling summary is not merged into a conversation that exists"));
                    }

                    messages += stored;
                    if (record.Summarized && _config.Summarize)
                    {
                        // Restored as exported: now the window of this configuration, as a trim applies it. Rules that
                        // keep no summary would trim the summary and its pending messages away as plain messages (an
                        // operator who forgot --summarize): without them the conversation stays exactly as exported.
                        await _append.RunAsync(_connection, key, _append.Arguments.Trim()).ConfigureAwait(false);
                    }

                    if (includeRecall && record.Recall is { } entries && (entries.Count > 0 || replace))
                    {
                        await _vectors.RestoreAsync(record.Conversation, entries, ttl, replace, cancellationToken).ConfigureAwait(false);
                        recalled += entries.Count;
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException or ArgumentException)
                {
                    // InvalidOperationException: claimed by another owner meanwhile; ArgumentException: vectors of another
                    // length than the conversation's stored ones (appended to without replace).
                    throw new ChatMemoryImportException(record.LineNumber, conversations, messages, ex);
                }
            }

            conversations++;
            progress?.Report(new ChatMemoryProgress(conversations, records.Count));
        }

        return new ChatMemoryImportResult(conversations, messages) { Owned = owned, RecallEntries = recalled };
    }

    /// <summary>One line: its conversation, expiry and elements; <paramref name="Summarized"/> when the elements carry a
    /// rolling summary (restored as they are, not appended); its owner entry when <paramref name="OwnerGiven"/> (the
    /// line has <c>"owner"</c>, maybe null); its recall entries, <see langword="null"/> when the line has no <c>"recall"</c>.</summary>
    private sealed record ImportRecord(
        long LineNumber, string Conversation, long? TtlMs, List<(ReadOnlyMemory<byte> Element, string? MessageId)> Elements, bool Summarized,
        bool OwnerGiven, string? Owner, string? Title, long? LastActivityMs, List<RecallEntry>? Recall);

    private RedisKey KeyOf(ImportRecord record) => _keys.For(record.Conversation);

    /// <summary>Before anything is written: a line with a rolling summary whose conversation exists is refused.</summary>
    private async Task RefuseSummariesOverExistingAsync(List<ImportRecord> records)
    {
        var lines = new Dictionary<RedisKey, ImportRecord>();
        foreach (var record in records.Where(r => r.Summarized))
        {
            lines.TryAdd(KeyOf(record), record);
        }

        // LLEN, not EXISTS: what the application's least-privilege ACL already allows (no list is empty).
        await Batches.ForEachAsync([.. lines.Keys], key => _database.ListLengthAsync(key), (key, length) =>
        {
            if (length > 0)
            {
                throw Bad(lines[key].LineNumber, $"conversation '{MessageRules.Shown(lines[key].Conversation)}' has a rolling summary and already exists; a summary is not merged into another conversation (chatmem import --replace, or ImportAsync with replace: true, replaces it)");
            }
        }, progress: null, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Before anything is written (without replace): a line whose conversation another owner has is refused.</summary>
    private async Task RefuseOtherOwnersAsync(List<ImportRecord> records, CancellationToken cancellationToken)
    {
        var owned = records.Where(r => r.Owner is not null).ToList();
        await Batches.ForEachAsync(owned, r => _owners.OwnerOfAsync(r.Conversation, cancellationToken), (record, recorded) =>
        {
            if (recorded is not null && recorded != record.Owner)
            {
                throw Bad(record.LineNumber, $"conversation '{MessageRules.Shown(record.Conversation)}' belongs to owner '{MessageRules.Shown(recorded)}', " +
                    $"the line gives owner '{MessageRules.Shown(record.Owner!)}' (a conversation has one owner; chatmem import --replace, or ImportAsync with replace: true, replaces it and its owner)");
            }
        }, progress: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the source to its end, one record per non-blank line; the first bad line throws, naming it.</summary>
    private async Task<List<ImportRecord>> ReadAllAsync(Stream source, int maxLineBytes, bool replace, CancellationToken cancellationToken)
    {
        var records = new List<ImportRecord>();
        var firstLine = replace ? new Dictionary<string, long>(StringComparer.Ordinal) : null;
        var rules = new MessageRules(WithCustomRoles(_config));
        var buffer = new byte[64 * 1024];
        using var line = new MemoryStream();
        long lineNumber = 1;
        var atStart = true;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var chunk = buffer.AsMemory(0, read);
            if (atStart)
            {
                // A byte order mark (as PowerShell and Notepad write) is not part of the first line.
                atStart = false;
                if (chunk.Span.StartsWith("\uFEFF"u8))
                {
                    chunk = chunk[3..];
                }
            }

            while (chunk.Length > 0)
            {
                var newline = chunk.Span.IndexOf((byte)'\n');
                var part = newline < 0 ? chunk : chunk[..newline];
                if (line.Length + part.Length > maxLineBytes + 1)
                {
                    throw Bad(lineNumber, $"the line is longer than {maxLineBytes} bytes");
                }

                line.Write(part.Span);
                if (newline < 0)
                {
                    break;
                }

                Accept(line, lineNumber++, maxLineBytes, rules, records, firstLine);
                line.SetLength(0);
                chunk = chunk[(newline + 1)..];
            }
        }

        if (line.Length > 0)
        {
            Accept(line, lineNumber, maxLineBytes, rules, records, firstLine);
        }

        return records;
    }

    private static void Accept(MemoryStream line, long lineNumber, int maxLineBytes, MessageRules rules, List<ImportRecord> records, Dictionary<string, long>? firstLine)
    {
        var bytes = line.GetBuffer().AsMemory(0, (int)line.Length);
        if (bytes.Span.EndsWith("\r"u8))
        {
            bytes = bytes[..^1];
        }

        if (bytes.Length > maxLineBytes)
        {
            throw Bad(lineNumber, $"the line is longer than {maxLineBytes} bytes");
        }

        try
        {
            StrictUtf8.GetCharCount(bytes.Span);
        }
        catch (DecoderFallbackException ex)
        {
            var at = ex.Index >= 0 ? string.Create(CultureInfo.InvariantCulture, $" at byte {ex.Index + 1} of the line") : "";
            var what = ex.BytesUnknown is { Length: > 0 } unknown ? $"byte 0x{unknown[0]:X2}" : "a byte";
            throw Bad(lineNumber, $"not valid UTF-8 ({what}{at})");
        }

        if (bytes.Span.Trim(" \t"u8).IsEmpty)
        {
            return;
        }

        var record = Parse(bytes, lineNumber, rules);
        if (firstLine is not null)
        {
            if (firstLine.TryGetValue(record.Conversation, out var earlier))
            {
                throw Bad(lineNumber, $"conversation '{MessageRules.Shown(record.Conversation)}' is also on line {earlier} (with --replace the later line would replace it)");
            }

            firstLine[record.Conversation] = lineNumber;
        }

        records.Add(record);
    }

    /// <summary>Checks one line as the append would check its messages; anything wrong is bad input naming the line.</summary>
    private static ImportRecord Parse(ReadOnlyMemory<byte> line, long lineNumber, MessageRules rules)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("conversation", out var conversation) || conversation.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                throw Bad(lineNumber, "expected {\"conversation\": string, \"ttl_ms\": number|null, \"messages\": [...]}");
            }

            var id = conversation.GetString()!;
            if (string.IsNullOrWhiteSpace(id))
            {
                throw Bad(lineNumber, "the conversation id is empty");
            }

            long? ttlMs = null;
            if (root.TryGetProperty("ttl_ms", out var ttl) && ttl.ValueKind != JsonValueKind.Null)
            {
                ttlMs = ttl.ValueKind == JsonValueKind.Number && ttl.TryGetInt64(out var ms) && ms > 0
                    ? ms : throw Bad(lineNumber, "ttl_ms must be a positive integer or null");
            }

            var elements = new List<(ReadOnlyMemory<byte>, string?)>(messages.GetArrayLength());
            var index = 0;
            var summaryAt = 0;
            long pending = 0;
            var onlySystemSoFar = true;
            foreach (var message in messages.EnumerateArray())
            {
                index++;
                var raw = Encoding.UTF8.GetBytes(message.GetRawText());
                var decoded = MessageCodec.TryDecode(raw)
                    ?? throw Bad(lineNumber, $"message {index} is not a stored message (an object with string \"role\" and \"content\", and optional fields of the right type)");
                if (rules.WireError(decoded) is { } error)
                {
                    throw Bad(lineNumber, $"message {index}: {error}");
                }

                if (SummaryElement.TryReadHeader(raw, out var header))
                {
                    // The layout ExportAsync writes: [pinned system messages][summary][its pending messages][window].
                    if (summaryAt > 0 || !onlySystemSoFar)
                    {
                        throw Bad(lineNumber, $"message {index} is a rolling summary, which may only follow system messages, once");
                    }

                    (summaryAt, pending) = (index, header.Pending);
                }

                onlySystemSoFar &= decoded.Role == ChatRoles.System;
                elements.Add((raw, decoded.MessageId));
            }

            if (summaryAt > 0 && pending > index - summaryAt)
            {
                throw Bad(lineNumber, $"the rolling summary (message {summaryAt}) counts {pending} pending messages, but only {index - summaryAt} follow it");
            }

            var (ownerGiven, owner, title, activity) = ParseOwner(root, lineNumber);
            var recall = root.TryGetProperty("recall", out var entries) ? ParseRecall(entries, lineNumber, rules) : null;
            return new ImportRecord(lineNumber, id, ttlMs, elements, Summarized: summaryAt > 0, ownerGiven, owner, title, activity, recall);
        }
        catch (JsonException ex)
        {
            throw Bad(lineNumber, $"not JSON ({ex.Message})");
        }
        catch (InvalidOperationException ex)
        {
            // A string JSON allows but .NET cannot hold (a lone surrogate escape).
            throw Bad(lineNumber, $"not readable JSON ({ex.Message})");
        }
    }

    /// <summary>The line's <c>"owner"</c> (a string or null; absent in older exports), <c>"title"</c> and
    /// <c>"last_activity_ms"</c> (both only with an owner).</summary>
    private static (bool Given, string? Owner, string? Title, long? LastActivityMs) ParseOwner(JsonElement root, long lineNumber)
    {
        string? owner = null;
        var given = root.TryGetProperty("owner", out var ownerValue);
        if (given && ownerValue.ValueKind != JsonValueKind.Null)
        {
            owner = ownerValue.ValueKind == JsonValueKind.String && ownerValue.GetString() is { } text && !string.IsNullOrWhiteSpace(text)
                ? text : throw Bad(lineNumber, "owner must be a string that is not empty, or null");
        }

        string? title = null;
        if (root.TryGetProperty("title", out var titleValue) && titleValue.ValueKind != JsonValueKind.Null)
        {
            title = titleValue.ValueKind == JsonValueKind.String ? titleValue.GetString() : throw Bad(lineNumber, "title must be a string or null");
        }

        long? activity = null;
        if (root.TryGetProperty("last_activity_ms", out var activityValue) && activityValue.ValueKind != JsonValueKind.Null)
        {
            activity = activityValue.ValueKind == JsonValueKind.Number && activityValue.TryGetInt64(out var ms) && ms > 0
                && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
                ? ms : throw Bad(lineNumber, "last_activity_ms must be a positive integer (Unix ms) or null");
        }

        if (owner is null && (title is not null || activity is not null))
        {
            throw Bad(lineNumber, "title and last_activity_ms belong to an owner: the line has none");
        }

        return (given, owner, title, activity);
    }

    /// <summary>The line's <c>"recall"</c>: each entry <c>{"attrs": {...}, "fp32": "base64"}</c>, the attributes as the
    /// vector set stores them (position, message) and the vector as little-endian float32; every vector of a line the
    /// same length, finite and not all zeros.</summary>
    private static List<RecallEntry> ParseRecall(JsonElement entries, long lineNumber, MessageRules rules)
    {
        if (entries.ValueKind != JsonValueKind.Array)
        {
            throw Bad(lineNumber, "recall must be an array of {\"attrs\": {...}, \"fp32\": base64}");
        }

        var recall = new List<RecallEntry>(entries.GetArrayLength());
        var index = 0;
        foreach (var entry in entries.EnumerateArray())
        {
            index++;
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("attrs", out var attrs) || attrs.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("fp32", out var fp32) || fp32.ValueKind != JsonValueKind.String)
            {
                throw Bad(lineNumber, $"recall entry {index} is not {{\"attrs\": {{...}}, \"fp32\": base64}}");
            }

            if (!VectorSetStore.TryReadAttributes(Encoding.UTF8.GetBytes(attrs.GetRawText()), out var position, out var message))
            {
                throw Bad(lineNumber, $"recall entry {index}: attrs must hold \"pos\" (a whole number, not negative) and \"msg\" (a stored message)");
            }

            if (rules.WireError(message) is { } error)
            {
                throw Bad(lineNumber, $"recall entry {index}: {error}");
            }

            if (!fp32.TryGetBytesFromBase64(out var bytes) || bytes.Length == 0 || bytes.Length % sizeof(float) != 0)
            {
                throw Bad(lineNumber, $"recall entry {index}: fp32 must be base64 of a whole number of little-endian float32 values");
            }

            var vector = new float[bytes.Length / sizeof(float)];
            var norm = 0.0;
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
                norm += (double)vector[i] * vector[i];
            }

            if (!double.IsFinite(norm) || norm == 0)
            {
                throw Bad(lineNumber, $"recall entry {index}: the vector must hold finite numbers, not all zeros");
            }

            if (recall.Count > 0 && recall[0].Vector.Length != vector.Length)
            {
                throw Bad(lineNumber, $"recall entry {index} has {vector.Length} dimensions, entry 1 has {recall[0].Vector.Length}: one embedding model per conversation");
            }

            recall.Add(new RecallEntry(position, message, vector));
        }

        return recall;
    }

    /// <summary>An export restores any role the library read back, custom identifier-like roles included.</summary>
    private static ChatMemoryConfig WithCustomRoles(ChatMemoryConfig config)
    {
        var copy = config.Clone();
        copy.AllowCustomRoles = true;
        return copy;
    }

    private static FormatException Bad(long lineNumber, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}: {what}; nothing was imported (the whole input is checked before anything is written)."));
}

/// <summary>What <see cref="ChatMemoryAdmin.ImportAsync"/> stored.</summary>
/// <param name="Conversations">Conversations imported.</param>
/// <param name="MessagesStored">Messages stored (those whose id was already stored are not).</param>
public sealed record ChatMemoryImportResult(long Conversations, long MessagesStored)
{
    /// <summary>Conversations whose owner (with title and last activity, when the line had them) went into the owner index.</summary>
    public long Owned { get; init; }

    /// <summary>Recall entries stored (indexed messages with their vectors).</summary>
    public long RecallEntries { get; init; }
}

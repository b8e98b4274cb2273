using System.Globalization;
using System.Text;
using System.Text.Json;
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
    /// <c>ttl_ms</c> (a line without one leaves an existing conversation's expiry alone).
    /// </summary>
    /// <remarks>
    /// <para>All or nothing for bad input: the whole source is checked (UTF-8, line length, JSON shape, ids, every
    /// message by the rules appends apply, custom roles allowed) before anything is written, and is held in memory
    /// meanwhile. A byte order mark, CRLF line ends, blank lines and a missing final newline are accepted.</para>
    /// <para>A conversation exported with a rolling summary (<see cref="ChatMemoryConfig.Summarize"/>) is restored
    /// exactly: its pinned messages, the summary with its text and counters, the messages still pending for it, and the
    /// window, byte for byte; then, when <see cref="Config"/> summarizes, its window applies, as a trim would apply it
    /// (rules without a summary would drop it as plain messages, so they leave it as exported). A summary cannot be
    /// merged into a conversation that exists: such a line needs <paramref name="replace"/>.</para>
    /// </remarks>
    /// <param name="source">The lines, UTF-8; read to its end.</param>
    /// <param name="replace">Replace each conversation that exists, in the same script run, instead of appending to it.</param>
    /// <param name="maxLineBytes">The longest line accepted, at least 2.</param>
    /// <param name="progress">Told the conversations written and the total; optional.</param>
    /// <param name="cancellationToken">Stops reading, or stops between conversations while writing.</param>
    /// <returns>Conversations imported and messages stored.</returns>
    /// <exception cref="FormatException">A line is bad, or (without <paramref name="replace"/>) carries a rolling summary
    /// for a conversation that exists; the message names the line, and nothing was written.</exception>
    /// <exception cref="ChatMemoryImportException">Writing failed (Redis failed, or a conversation with a rolling summary
    /// was created by someone else during the import); it says which line's conversation failed and what was stored
    /// before it.</exception>
    public async Task<ChatMemoryImportResult> ImportAsync(
        Stream source, bool replace = false, int maxLineBytes = DefaultMaxLineBytes, IProgress<ChatMemoryProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 2);
        var records = await ReadAllAsync(source, maxLineBytes, replace, cancellationToken).ConfigureAwait(false);
        if (!replace)
        {
            await RefuseSummariesOverExistingAsync(records).ConfigureAwait(false);
        }

        long conversations = 0, messages = 0;
        foreach (var record in records)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (record.Elements.Count > 0 || replace)
            {
                var ttl = _config.Ttl is { } configured ? AppendArguments.TtlMilliseconds(configured) : record.TtlMs ?? 0;
                var key = KeyOf(record);
                try
                {
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
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    throw new ChatMemoryImportException(record.LineNumber, conversations, messages, ex);
                }
            }

            conversations++;
            progress?.Report(new ChatMemoryProgress(conversations, records.Count));
        }

        return new ChatMemoryImportResult(conversations, messages);
    }

    /// <summary>One line: its conversation, expiry and elements; <paramref name="Summarized"/> when the elements carry a
    /// rolling summary (restored as they are, not appended).</summary>
    private sealed record ImportRecord(
        long LineNumber, string Conversation, long? TtlMs, List<(ReadOnlyMemory<byte> Element, string? MessageId)> Elements, bool Summarized);

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
                throw Bad(lines[key].LineNumber, $"conversation '{MessageRules.Shown(lines[key].Conversation)}' has a rolling summary and already exists; a summary is not merged into another conversation (import with replace)");
            }
        }, progress: null, CancellationToken.None).ConfigureAwait(false);
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
                throw Bad(lineNumber, $"conversation '{MessageRules.Shown(record.Conversation)}' is also on line {earlier} (with replace the later line would replace it)");
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

            return new ImportRecord(lineNumber, id, ttlMs, elements, Summarized: summaryAt > 0);
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
public sealed record ChatMemoryImportResult(long Conversations, long MessagesStored);

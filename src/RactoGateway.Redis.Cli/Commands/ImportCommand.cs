using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem import [--replace] &lt; file.jsonl</c>: reads what <c>export</c> writes. All or nothing for bad input: the
/// whole of stdin is read and checked first (UTF-8, line length, JSON shape, conversation ids, every message as the
/// library's append would check it), and the first bad line is reported by number with nothing written. Only then is each
/// conversation written, by one script run on its key, so each is atomic: the library's own append script
/// (<c>append.lua</c>: messages whose id is already stored are skipped, the window trims, the expiry is set), preceded by
/// a DEL of the key with <c>--replace</c>. Elements are stored byte for byte as they appear in the file.
/// </summary>
/// <remarks>
/// Without <c>--max-turns</c> nothing is trimmed (an import restores what was exported, whatever window wrote it);
/// with it, the window applies. The expiry is <c>--ttl</c> when given, else the line's <c>ttl_ms</c>; a line without one
/// leaves an existing conversation's expiry alone (with <c>--replace</c>: no expiry). If Redis fails while writing, the
/// message says which line's conversation failed and that the ones before it are stored.
/// </remarks>
internal static class ImportCommand
{
    /// <summary>The default longest line: 64 MiB (a conversation of 64 messages of 1 MiB each, the default message limit).</summary>
    public const int DefaultMaxLineBytes = 64 * 1024 * 1024;

    /// <summary>The library's append script after a DEL: replace a conversation in one atomic step.</summary>
    private static readonly Lazy<string> ReplaceScript = new(() => "redis.call('DEL', KEYS[1])\n" + ChatMemoryScripts.Append.Text);

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static Command Create()
    {
        var replace = new Option<bool>("--replace") { Description = "Replace each conversation that exists (default: append to it; messages whose id is already stored are skipped)." };
        var maxLineBytes = new Option<int>("--max-line-bytes")
        {
            Description = $"The longest line accepted, in bytes (default {DefaultMaxLineBytes}, 64 MiB).",
            DefaultValueFactory = _ => DefaultMaxLineBytes,
            CustomParser = r => int.TryParse(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 2 and <= 1024 * 1024 * 1024
                ? n : Error(r, "--max-line-bytes must be a whole number between 2 and 1073741824"),
        };
        var command = new Command(
            "import",
            "Read JSON Lines from stdin (as export writes them) and store each conversation atomically. All or nothing for bad " +
            "input: the whole input is checked before anything is written, and a bad line (invalid UTF-8, too long, not JSON, " +
            "a bad id, role, field or size) is named on stderr with exit 2 and nothing imported. Holds the input in memory.")
        { replace, maxLineBytes };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var config = CliOptions.Config(parsed, defaultMaxTurns: int.MaxValue / 2);
            if (config.GetValidationError() is { } error)
            {
                throw new ArgumentException(error);
            }

            var replacing = parsed.GetValue(replace);

            // 1. Read and check everything; nothing has touched Redis yet.
            using var stdin = Console.OpenStandardInput();
            var records = await ReadAllAsync(stdin, parsed.GetValue(maxLineBytes), config, replacing, ct);

            // 2. Write, one atomic script per conversation.
            var connection = await session.ConnectAsync();
            var database = connection.GetDatabase();
            var script = replacing ? ReplaceScript.Value : ChatMemoryScripts.Append.Text;
            var rule = RuleOf(config);
            long conversations = 0, messages = 0;
            var failure = await StderrProgress.RunAsync("import", records.Count, async advance =>
            {
                foreach (var record in records)
                {
                    var key = new RedisKey(config.KeyPrefix + ":" + record.Conversation);
                    var ttlMs = config.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : record.TtlMs ?? 0;
                    var args = new RedisValue[3 + (2 * record.Elements.Count)];
                    args[0] = config.WindowSize;
                    args[1] = ttlMs;
                    args[2] = rule;
                    for (var i = 0; i < record.Elements.Count; i++)
                    {
                        args[3 + (2 * i)] = record.Elements[i].MessageId is { } id ? MessageCodec.IdMarker(id) : RedisValue.EmptyString;
                        args[4 + (2 * i)] = record.Elements[i].Raw;
                    }

                    if (record.Elements.Count > 0 || replacing)
                    {
                        try
                        {
                            var stored = await database.ScriptEvaluateAsync(script, [key], args).WaitAsync(ct);
                            messages += (long)stored;
                        }
                        catch (Exception ex) when (ex is RedisException or TimeoutException)
                        {
                            return $"stdin line {record.LineNumber}: Redis at {session.Endpoint} failed ({Reason(ex)}); " +
                                $"{conversations} conversation(s) from the lines before it were imported ({messages} message(s) stored), " +
                                "this one and those after it were not.";
                        }
                    }

                    conversations++;
                    advance(1);
                }

                return (string?)null;
            });
            if (failure is not null)
            {
                await Console.Error.WriteLineAsync("chatmem: " + failure.ReplaceLineEndings(" "));
                return ExitCodes.Unreachable;
            }

            await Console.Error.WriteLineAsync($"chatmem: imported {conversations} conversation(s), {messages} message(s) stored");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static int Error(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return 0;
    }

    private static string Reason(Exception ex) => ex switch
    {
        RedisConnectionException rce => rce.FailureType.ToString(),
        RedisServerException server => server.Message,
        _ => ex.GetType().Name,
    };

    private static string RuleOf(ChatMemoryConfig config) =>
        (config.Window.PinSystemMessages ? "s" : "") + (config.Window.ToolCallAware ? "t" : "");

    /// <summary>Reads stdin to the end, one record per non-blank line; the first bad line throws, naming it.</summary>
    private static async Task<List<Record>> ReadAllAsync(Stream stdin, int maxLineBytes, ChatMemoryConfig config, bool replacing, CancellationToken ct)
    {
        var records = new List<Record>();
        var firstLine = replacing ? new Dictionary<string, long>(StringComparer.Ordinal) : null;
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        long lineNumber = 1;
        var atStart = true;
        int read;
        while ((read = await stdin.ReadAsync(buffer, ct)) > 0)
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
                    throw Bad(lineNumber, $"the line is longer than {maxLineBytes} bytes (--max-line-bytes)");
                }

                line.Write(part.Span);
                if (newline < 0)
                {
                    break;
                }

                Accept(line, lineNumber++, maxLineBytes, config, records, firstLine);
                line.SetLength(0);
                chunk = chunk[(newline + 1)..];
            }
        }

        if (line.Length > 0)
        {
            Accept(line, lineNumber, maxLineBytes, config, records, firstLine);
        }

        return records;
    }

    private static void Accept(MemoryStream line, long lineNumber, int maxLineBytes, ChatMemoryConfig config, List<Record> records, Dictionary<string, long>? firstLine)
    {
        var bytes = line.GetBuffer().AsMemory(0, (int)line.Length);
        if (bytes.Span.EndsWith("\r"u8))
        {
            bytes = bytes[..^1];
        }

        if (bytes.Length > maxLineBytes)
        {
            throw Bad(lineNumber, $"the line is longer than {maxLineBytes} bytes (--max-line-bytes)");
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

        var record = Parse(bytes, lineNumber, config);
        if (firstLine is not null)
        {
            if (firstLine.TryGetValue(record.Conversation, out var earlier))
            {
                throw Bad(lineNumber, $"conversation '{Shown(record.Conversation)}' is also on line {earlier} (with --replace the later line would replace it)");
            }

            firstLine[record.Conversation] = lineNumber;
        }

        records.Add(record);
    }

    private sealed record Element(byte[] Raw, string? MessageId);

    private sealed record Record(long LineNumber, string Conversation, long? TtlMs, List<Element> Elements);

    /// <summary>Validates one line as the library's append would validate its messages; anything wrong is bad input naming the line.</summary>
    private static Record Parse(ReadOnlyMemory<byte> line, long lineNumber, ChatMemoryConfig config)
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

            var rules = new MessageRules(WithCustomRoles(config));
            var elements = new List<Element>(messages.GetArrayLength());
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                index++;
                var raw = Encoding.UTF8.GetBytes(message.GetRawText());
                var decoded = MessageCodec.TryDecode(raw)
                    ?? throw Bad(lineNumber, $"message {index} is not a stored message (an object with string \"role\" and \"content\", and optional fields of the right type)");
                if (MessageError(decoded, config) is { } error)
                {
                    throw Bad(lineNumber, $"message {index}: {error}");
                }

                try
                {
                    // The library's own rules for every write path have the last word (the checks above word the
                    // common cases in the file's terms).
                    rules.Checked(decoded, "message");
                }
                catch (ArgumentException ex)
                {
                    throw Bad(lineNumber, $"message {index}: {ex.Message.Replace(" (Parameter 'message')", "", StringComparison.Ordinal)}");
                }

                elements.Add(new Element(raw, decoded.MessageId));
            }

            return new Record(lineNumber, id, ttlMs, elements);
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

    /// <summary>What the library's append refuses in a message (RedisChatMemory's checks), or <see langword="null"/>.</summary>
    private static string? MessageError(ChatMemoryMessage message, ChatMemoryConfig config) => message switch
    {
        _ when !ChatRoles.IsKnown(message.Role) && (message.Role.Length == 0 || !message.Role.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            => $"role '{Shown(message.Role)}' is not a role (user, assistant, system, tool, or a custom identifier)",
        _ when MessageCodec.TextBytes(message) > config.MaxMessageBytes => $"it is over {config.MaxMessageBytes} bytes",
        { MessageId: "" } => "\"id\" is empty",
        { ToolCalls: not null, Role: not ChatRoles.Assistant } => "only an assistant message can carry \"tool_calls\"",
        { ToolCallId: not null, Role: not ChatRoles.Tool } => "only a tool message can carry \"tool_call_id\"",
        { ToolCallId: "" } => "\"tool_call_id\" is empty",
        _ when message.ToolCalls?.Any(c => c is null || string.IsNullOrEmpty(c.Id) || string.IsNullOrEmpty(c.Name) || c.Arguments is null) == true
            => "every tool call needs an id, a name and arguments",
        _ => null,
    };

    /// <summary>An export restores any role the library read back, custom identifier-like roles included.</summary>
    private static ChatMemoryConfig WithCustomRoles(ChatMemoryConfig config)
    {
        var copy = config.Clone();
        copy.AllowCustomRoles = true;
        return copy;
    }

    private static string Shown(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static ArgumentException Bad(long lineNumber, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"stdin line {lineNumber}: {what}; nothing was imported (the whole input is checked before anything is written)."));
}

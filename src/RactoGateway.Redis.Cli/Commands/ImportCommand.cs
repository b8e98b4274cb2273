using System.CommandLine;
using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem import [--replace] &lt; file.jsonl</c>: reads what <c>export</c> writes. Each conversation is written by one
/// script run on its key, so it is atomic: the library's own append script (<c>append.lua</c>: messages whose id is
/// already stored are skipped, the window trims, the expiry is set), preceded by a DEL of the key with
/// <c>--replace</c>. Elements are stored byte for byte as they appear in the file.
/// </summary>
/// <remarks>
/// Without <c>--max-turns</c> nothing is trimmed (an import restores what was exported, whatever window wrote it);
/// with it, the window applies. The expiry is <c>--ttl</c> when given, else the line's <c>ttl_ms</c>; a line without one
/// leaves an existing conversation's expiry alone (with <c>--replace</c>: no expiry).
/// </remarks>
internal static class ImportCommand
{
    /// <summary>The library's append script after a DEL: replace a conversation in one atomic step.</summary>
    private static readonly Lazy<string> ReplaceScript = new(() => "redis.call('DEL', KEYS[1])\n" + ChatMemoryScripts.Append.Text);

    public static Command Create()
    {
        var replace = new Option<bool>("--replace") { Description = "Replace each conversation that exists (default: append to it; messages whose id is already stored are skipped)." };
        var command = new Command("import", "Read JSON Lines from stdin (as export writes them) and store each conversation atomically.") { replace };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var config = CliOptions.Config(parsed, defaultMaxTurns: int.MaxValue / 2);
            if (config.GetValidationError() is { } error)
            {
                throw new ArgumentException(error);
            }

            var connection = await session.ConnectAsync();
            var database = connection.GetDatabase();
            var script = parsed.GetValue(replace) ? ReplaceScript.Value : ChatMemoryScripts.Append.Text;
            var rule = RuleOf(config);
            using var stdin = Console.OpenStandardInput();
            var total = TryLength(stdin);
            using var reader = new StreamReader(stdin, new UTF8Encoding(false, throwOnInvalidBytes: true));
            var (conversations, messages) = await StderrProgress.RunAsync("import", total ?? 0, async advance =>
            {
                long conversations = 0, messages = 0, lineNumber = 0;
                while (await reader.ReadLineAsync(ct) is { } line)
                {
                    lineNumber++;
                    advance(Encoding.UTF8.GetByteCount(line) + 1);
                    if (string.IsNullOrWhiteSpace(line))
                    {
                        continue;
                    }

                    var record = Parse(line, lineNumber, config);
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

                    if (record.Elements.Count > 0 || parsed.GetValue(replace))
                    {
                        var stored = await database.ScriptEvaluateAsync(script, [key], args).WaitAsync(ct);
                        messages += (long)stored;
                    }

                    conversations++;
                }

                return (conversations, messages);
            });
            await Console.Error.WriteLineAsync($"chatmem: imported {conversations} conversation(s), {messages} message(s) stored");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string RuleOf(ChatMemoryConfig config) =>
        (config.Window.PinSystemMessages ? "s" : "") + (config.Window.ToolCallAware ? "t" : "");

    private static long? TryLength(Stream stream)
    {
        try
        {
            return stream.CanSeek ? stream.Length : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private sealed record Element(byte[] Raw, string? MessageId);

    private sealed record Record(string Conversation, long? TtlMs, List<Element> Elements);

    /// <summary>Validates one line; anything wrong is bad input naming the line.</summary>
    private static Record Parse(string line, long lineNumber, ChatMemoryConfig config)
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

            var elements = new List<Element>(messages.GetArrayLength());
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                index++;
                var raw = Encoding.UTF8.GetBytes(message.GetRawText());
                var decoded = MessageCodec.TryDecode(raw)
                    ?? throw Bad(lineNumber, $"message {index} is not a stored message (an object with string \"role\" and \"content\")");
                if (!ChatRoles.IsKnown(decoded.Role) && !decoded.Role.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                {
                    throw Bad(lineNumber, $"message {index} has role '{decoded.Role}'");
                }

                if (MessageCodec.TextBytes(decoded) > config.MaxMessageBytes)
                {
                    throw Bad(lineNumber, $"message {index} is over {config.MaxMessageBytes} bytes");
                }

                elements.Add(new Element(raw, decoded.MessageId));
            }

            return new Record(id, ttlMs, elements);
        }
        catch (JsonException ex)
        {
            throw Bad(lineNumber, $"not JSON ({ex.Message})");
        }
    }

    private static ArgumentException Bad(long lineNumber, string what) => new($"stdin line {lineNumber}: {what}; nothing after line {lineNumber - 1} was imported.");
}

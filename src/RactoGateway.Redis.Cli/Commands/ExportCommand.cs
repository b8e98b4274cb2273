using System.Buffers;
using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem export [--match &lt;glob&gt;] [--literal] &gt; file.jsonl</c>: one JSON line per conversation,
/// <c>{"conversation":"c1","ttl_ms":12345|null,"messages":[...]}</c>, each message the stored element exactly as it is
/// (every optional field, tool calls included). Corrupt elements are skipped and counted on stderr.
/// </summary>
internal static class ExportCommand
{
    /// <summary>Conversations read concurrently (pipelined on one connection).</summary>
    private const int Window = 64;

    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var command = new Command("export", "Write conversations as JSON Lines on stdout, losslessly (import reads them back).") { match, literal };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var prefix = CliOptions.Config(parsed).KeyPrefix;
            var pattern = ConversationKeys.Pattern(prefix, parsed.GetValue(match), parsed.GetValue(literal));
            var connection = await session.ConnectAsync();
            var database = connection.GetDatabase();
            var keys = await ConversationKeys.ListAsync(connection, pattern, ct);
            var buffer = new ArrayBufferWriter<byte>(16 * 1024);
            using var stdout = Console.OpenStandardOutput();
            var (conversations, messages, corrupt) = await StderrProgress.RunAsync("export", keys.Count, async advance =>
            {
                long conversations = 0, messages = 0, corrupt = 0;
                for (var first = 0; first < keys.Count; first += Window)
                {
                    ct.ThrowIfCancellationRequested();
                    var batch = keys.GetRange(first, Math.Min(Window, keys.Count - first));
                    var reads = batch.Select(key => ReadAsync(database, key)).ToArray();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var (elements, ttl) = await reads[i];
                        if (elements.Length > 0)
                        {
                            buffer.ResetWrittenCount();
                            var (written, skipped) = WriteLine(buffer, ConversationKeys.IdOf(prefix, batch[i]), ttl, elements);
                            await stdout.WriteAsync(buffer.WrittenMemory, ct);
                            conversations++;
                            messages += written;
                            corrupt += skipped;
                        }

                        advance(1);
                    }
                }

                return (conversations, messages, corrupt);
            });
            await stdout.FlushAsync(ct);
            await Console.Error.WriteLineAsync($"chatmem: exported {conversations} conversation(s), {messages} message(s)" +
                (corrupt > 0 ? $"; skipped {corrupt} corrupt element(s)" : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The list and its remaining expiry, read together in one transaction.</summary>
    private static async Task<(RedisValue[] Elements, TimeSpan? Ttl)> ReadAsync(IDatabase database, RedisKey key)
    {
        var transaction = database.CreateTransaction();
        var range = transaction.ListRangeAsync(key);
        var ttl = transaction.KeyTimeToLiveAsync(key);
        await transaction.ExecuteAsync();
        return (await range, await ttl);
    }

    private static (long Written, long Skipped) WriteLine(ArrayBufferWriter<byte> buffer, string conversation, TimeSpan? ttl, RedisValue[] elements)
    {
        long written = 0, skipped = 0;
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("conversation", conversation);
            if (ttl is { } left)
            {
                writer.WriteNumber("ttl_ms", Math.Max(1, (long)left.TotalMilliseconds));
            }
            else
            {
                writer.WriteNull("ttl_ms");
            }

            writer.WriteStartArray("messages");
            foreach (var element in elements)
            {
                // Only what the library itself would read back is exported; the bytes go out as stored.
                if (MessageCodec.TryDecode(element) is null)
                {
                    skipped++;
                    continue;
                }

                var bytes = ((ReadOnlyMemory<byte>)element).Span;
                if (bytes.IndexOfAny((byte)'\n', (byte)'\r') < 0)
                {
                    writer.WriteRawValue(bytes);
                }
                else
                {
                    // Whitespace line breaks between tokens (a pretty-printed element) would split the line: same value, compacted.
                    using var document = JsonDocument.Parse(((ReadOnlyMemory<byte>)element));
                    document.WriteTo(writer);
                }

                written++;
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return (written, skipped);
    }
}

using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// Export: one JSON line per conversation, {"conversation":"c1","ttl_ms":12345|null,"messages":[...]}, each message the
// stored element exactly as it is (every optional field, tool calls included). ImportAsync reads the same lines back.
public sealed partial class ChatMemoryAdmin
{
    /// <summary>Writes the matching conversations to <paramref name="destination"/> as JSON Lines, losslessly: each
    /// message exactly as stored, with the conversation's remaining expiry. Corrupt elements are skipped and counted;
    /// empty conversations are not written.</summary>
    /// <param name="destination">Where the lines go (UTF-8, <c>\n</c> line ends); it stays open.</param>
    /// <param name="match">A glob over the id; <see langword="null"/> for all.</param>
    /// <param name="literal">Match <paramref name="match"/> literally.</param>
    /// <param name="progress">Told the conversations done and the total; optional.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>Conversations and messages written, corrupt elements skipped.</returns>
    public async Task<ChatMemoryExportResult> ExportAsync(
        Stream destination, string? match = null, bool literal = false, IProgress<ChatMemoryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var keys = await KeysAsync(match, literal, cancellationToken).ConfigureAwait(false);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        long conversations = 0, messages = 0, corrupt = 0;
        await Batches.ForEachAsync(keys, ReadWithExpiryAsync, async (key, read) =>
        {
            if (read.Elements.Length == 0)
            {
                return;
            }

            buffer.ResetWrittenCount();
            var (written, skipped) = WriteLine(buffer, _keys.IdOf(key), read.Ttl, read.Elements);
            await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            conversations++;
            messages += written;
            corrupt += skipped;
        }, Progress(progress, keys.Count), cancellationToken).ConfigureAwait(false);

        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new ChatMemoryExportResult(conversations, messages, corrupt);
    }

    /// <summary>The list and its remaining expiry, read together in one transaction.</summary>
    private async Task<(RedisValue[] Elements, TimeSpan? Ttl)> ReadWithExpiryAsync(RedisKey key)
    {
        var transaction = _database.CreateTransaction();
        var range = transaction.ListRangeAsync(key);
        var ttl = transaction.KeyTimeToLiveAsync(key);
        await transaction.ExecuteAsync().ConfigureAwait(false);
        return (await range.ConfigureAwait(false), await ttl.ConfigureAwait(false));
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
                    // Line breaks between tokens (a pretty-printed element) would split the line: same value, compacted.
                    using var document = JsonDocument.Parse((ReadOnlyMemory<byte>)element);
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

/// <summary>What <see cref="ChatMemoryAdmin.ExportAsync"/> wrote.</summary>
/// <param name="Conversations">Conversations written (one line each).</param>
/// <param name="Messages">Messages written.</param>
/// <param name="CorruptSkipped">Corrupt elements left out.</param>
public sealed record ChatMemoryExportResult(long Conversations, long Messages, long CorruptSkipped);

using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Recall;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis;

// Export: one JSON line per conversation,
//   {"conversation":"c1","ttl_ms":12345|null,"messages":[...],"owner":"u"|null[,"title":"...","last_activity_ms":N],"recall":[...]}
// each message the stored element exactly as it is (every optional field, tool calls included); the owner index entry
// (owner, title, last activity) and the recall vector set ({"attrs":{...},"fp32":"base64"} per indexed message: its
// attributes as stored, its vector as little-endian float32). ImportAsync reads the same lines back, and the older lines
// without "owner" and "recall" too.
public sealed partial class ChatMemoryAdmin
{
    /// <summary>Writes the matching conversations to <paramref name="destination"/> as JSON Lines, losslessly: each
    /// message exactly as stored, with the conversation's remaining expiry, its owner, title and last activity (the owner
    /// index of <see cref="ChatMemoryOwners"/>), and its recall index (<see cref="ChatMemoryRecall"/>: each indexed
    /// message with its vector, as the server gives it back). Corrupt elements are skipped and counted; empty
    /// conversations are not written (nor their owner entries or vectors).</summary>
    /// <param name="destination">Where the lines go (UTF-8, <c>\n</c> line ends); it stays open.</param>
    /// <param name="match">A glob over the id; <see langword="null"/> for all.</param>
    /// <param name="literal">Match <paramref name="match"/> literally.</param>
    /// <param name="progress">Told the conversations done and the total; optional.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>Conversations and messages written, corrupt elements skipped, owned conversations and recall entries written.</returns>
    public async Task<ChatMemoryExportResult> ExportAsync(
        Stream destination, string? match = null, bool literal = false, IProgress<ChatMemoryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var keys = await KeysAsync(match, literal, cancellationToken).ConfigureAwait(false);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        long conversations = 0, messages = 0, corrupt = 0, owned = 0, recalled = 0;
        await Batches.ForEachAsync(keys, key => ReadForExportAsync(key, cancellationToken), async (key, read) =>
        {
            if (read.Elements.Length == 0)
            {
                return;
            }

            buffer.ResetWrittenCount();
            var (written, skipped, entries) = WriteLine(buffer, _keys.IdOf(key), read);
            await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            conversations++;
            messages += written;
            corrupt += skipped;
            owned += read.Owner is null ? 0 : 1;
            recalled += entries;
        }, Progress(progress, keys.Count), cancellationToken).ConfigureAwait(false);

        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new ChatMemoryExportResult(conversations, messages, corrupt) { Owned = owned, RecallEntries = recalled };
    }

    /// <summary>One conversation as an export writes it.</summary>
    private sealed record ExportedConversation(
        RedisValue[] Elements, TimeSpan? Ttl, string? Owner, string? Title, DateTimeOffset? LastActivity, IReadOnlyList<(byte[] Attributes, float[] Vector)> Recall);

    /// <summary>The list and its expiry; then, for a conversation that has messages, its owner entry and its vectors.</summary>
    private async Task<ExportedConversation> ReadForExportAsync(RedisKey key, CancellationToken cancellationToken)
    {
        var (elements, ttl) = await ReadWithExpiryAsync(key).ConfigureAwait(false);
        if (elements.Length == 0)
        {
            return new ExportedConversation(elements, ttl, null, null, null, []);
        }

        var id = _keys.IdOf(key);
        var (owner, title, activity) = await _owners.ExportInfoAsync(id, cancellationToken).ConfigureAwait(false);
        var recall = await _vectors.ReadAllAsync(id, cancellationToken).ConfigureAwait(false);
        return new ExportedConversation(elements, ttl, owner, title, activity, recall);
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

    private static (long Written, long Skipped, long Recalled) WriteLine(ArrayBufferWriter<byte> buffer, string conversation, ExportedConversation read)
    {
        long written = 0, skipped = 0, recalled = 0;
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("conversation", conversation);
            if (read.Ttl is { } left)
            {
                writer.WriteNumber("ttl_ms", Math.Max(1, (long)left.TotalMilliseconds));
            }
            else
            {
                writer.WriteNull("ttl_ms");
            }

            writer.WriteStartArray("messages");
            foreach (var element in read.Elements)
            {
                // Only what the library itself would read back is exported; the bytes go out as stored.
                if (MessageCodec.TryDecode(element) is null)
                {
                    skipped++;
                    continue;
                }

                WriteRaw(writer, (ReadOnlyMemory<byte>)element);
                written++;
            }

            writer.WriteEndArray();
            if (read.Owner is { } owner)
            {
                writer.WriteString("owner", owner);
                if (read.Title is { } title)
                {
                    writer.WriteString("title", title);
                }

                if (read.LastActivity is { } activity)
                {
                    writer.WriteNumber("last_activity_ms", activity.ToUnixTimeMilliseconds());
                }
            }
            else
            {
                writer.WriteNull("owner");
            }

            writer.WriteStartArray("recall");
            foreach (var (attributes, vector) in read.Recall)
            {
                // Only entries the library itself would recall; a vector of another length than the set's cannot exist.
                if (!VectorSetStore.TryReadAttributes(attributes, out _, out _) || vector.Length == 0)
                {
                    continue;
                }

                writer.WriteStartObject();
                writer.WritePropertyName("attrs");
                WriteRaw(writer, attributes);
                writer.WriteBase64String("fp32", MemoryMarshal.AsBytes(ToLittleEndian(vector).AsSpan()));
                writer.WriteEndObject();
                recalled++;
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return (written, skipped, recalled);
    }

    /// <summary>A stored JSON value as it is; one with line breaks between tokens (pretty-printed) would split the line, so
    /// it goes out compacted (the same value).</summary>
    private static void WriteRaw(Utf8JsonWriter writer, ReadOnlyMemory<byte> json)
    {
        if (json.Span.IndexOfAny((byte)'\n', (byte)'\r') < 0)
        {
            writer.WriteRawValue(json.Span);
        }
        else
        {
            using var document = JsonDocument.Parse(json);
            document.WriteTo(writer);
        }
    }

    private static float[] ToLittleEndian(float[] vector)
    {
        if (!BitConverter.IsLittleEndian)
        {
            vector = Array.ConvertAll(vector, v => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(v))));
        }

        return vector;
    }
}

/// <summary>What <see cref="ChatMemoryAdmin.ExportAsync"/> wrote.</summary>
/// <param name="Conversations">Conversations written (one line each).</param>
/// <param name="Messages">Messages written.</param>
/// <param name="CorruptSkipped">Corrupt elements left out.</param>
public sealed record ChatMemoryExportResult(long Conversations, long Messages, long CorruptSkipped)
{
    /// <summary>Conversations written with their owner (and title and last activity, when recorded).</summary>
    public long Owned { get; init; }

    /// <summary>Recall entries written (indexed messages with their vectors).</summary>
    public long RecallEntries { get; init; }
}

using System.Text.Encodings.Web;
using System.Text.Json;
using StackExchange.Redis;

namespace RactoGateway.Redis.Wire;

/// <summary>
/// The one owner of the wire format: JSON objects <c>{"role": ..., "content": ...}</c>, UTF-8, one per list element,
/// exactly as Python ractogateway writes them with <c>json.dumps</c>. Nothing else builds or parses element JSON.
/// </summary>
internal static class MessageCodec
{
    // We write compact JSON with non-ASCII text left as UTF-8 rather than Python's "\u00e9" escapes: it is the
    // same JSON value (json.loads reads both), and smaller for non-Latin text. "Relaxed" escaping only matters
    // when JSON is embedded in HTML, which a Redis list element never is; quotes and control characters are
    // still escaped.
    private static readonly ChatMemoryJsonContext Context = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>Encodes one message as the UTF-8 JSON element stored in the list.</summary>
    public static byte[] Encode(string role, string content) =>
        JsonSerializer.SerializeToUtf8Bytes(new WireMessage { Role = role, Content = content }, Context.WireMessage);

    /// <summary>
    /// Decodes one list element. Returns <see langword="null"/> for a corrupt element: not JSON, JSON that is
    /// not an object, or an object whose <c>role</c> or <c>content</c> is missing or not a string.
    /// </summary>
    public static ChatMemoryMessage? TryDecode(RedisValue element)
    {
        if (element.IsNull)
        {
            return null;
        }

        try
        {
            var wire = JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)element).Span, Context.WireMessage);
            return wire is { Role: { } role, Content: { } content } ? new ChatMemoryMessage(role, content) : null;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            // Valid JSON whose string cannot become a .NET string (e.g. a lone surrogate escape) is corrupt for us.
            return null;
        }
    }

    /// <summary>Decodes a whole list, oldest first, skipping corrupt elements and counting them.</summary>
    public static List<ChatMemoryMessage> DecodeAll(RedisValue[] elements, out int skipped)
    {
        var messages = new List<ChatMemoryMessage>(elements.Length);
        skipped = 0;
        foreach (var element in elements)
        {
            if (TryDecode(element) is { } message)
            {
                messages.Add(message);
            }
            else
            {
                skipped++;
            }
        }

        return messages;
    }
}

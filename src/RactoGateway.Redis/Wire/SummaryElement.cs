using System.Buffers.Text;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RactoGateway.Redis.Wire;

/// <summary>
/// The one owner of the rolling summary's element, written by <c>append.lua</c> and <c>summary.lua</c>:
/// <code>{"role":"system","summary":{"pending":P,"folded":F,"dropped":D,"epoch":"E"},"content":"..."}</code>
/// A system message to any JSON reader (Python's <c>json.loads</c> sees role and content, and ignores <c>summary</c>).
/// It follows the pinned system messages, and the <c>P</c> elements after it are pending: evicted from the window and
/// not yet folded into the text. <c>F</c> and <c>D</c> count the messages folded in and dropped past
/// MaxPendingMessages so far; <c>E</c> is when the summary was created (a cleared and re-created conversation has
/// another). The byte layout is fixed so that the scripts can read it with one pattern.
/// </summary>
internal static class SummaryElement
{
    private static ReadOnlySpan<byte> Prefix => "{\"role\":\"system\",\"summary\":{\"pending\":"u8;

    /// <summary>Whether <paramref name="element"/> is a summary element; its counters when it is.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> element, out SummaryHeader header)
    {
        header = default;
        if (!element.StartsWith(Prefix))
        {
            return false;
        }

        var rest = element[Prefix.Length..];
        if (!Number(ref rest, out var pending) || !Field(ref rest, ",\"folded\":"u8) || !Number(ref rest, out var folded)
            || !Field(ref rest, ",\"dropped\":"u8) || !Number(ref rest, out var dropped) || !Field(ref rest, ",\"epoch\":\""u8))
        {
            return false;
        }

        var end = rest.IndexOf("\"}"u8);
        if (end <= 0)
        {
            return false;
        }

        header = new SummaryHeader(pending, folded, dropped, Encoding.ASCII.GetString(rest[..end]));
        return true;
    }

    /// <summary>The summary's text as a JSON string with its quotes, as <c>summary.lua</c> takes it.</summary>
    public static byte[] EncodeText(string text)
    {
        var encoded = JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;
        return [(byte)'"', .. encoded, (byte)'"'];
    }

    private static bool Number(ref ReadOnlySpan<byte> rest, out long value)
    {
        if (!Utf8Parser.TryParse(rest, out value, out var consumed) || consumed == 0 || value < 0)
        {
            return false;
        }

        rest = rest[consumed..];
        return true;
    }

    private static bool Field(ref ReadOnlySpan<byte> rest, ReadOnlySpan<byte> name)
    {
        if (!rest.StartsWith(name))
        {
            return false;
        }

        rest = rest[name.Length..];
        return true;
    }
}

/// <summary>The counters of a summary element (see <see cref="SummaryElement"/>).</summary>
/// <param name="Pending">Elements after the summary waiting to be folded in.</param>
/// <param name="Folded">Messages folded into the text so far.</param>
/// <param name="Dropped">Messages dropped past MaxPendingMessages so far.</param>
/// <param name="Epoch">When the summary was created (Redis TIME, microseconds), as text.</param>
internal readonly record struct SummaryHeader(long Pending, long Folded, long Dropped, string Epoch)
{
    /// <summary>The position of the first pending message among all the conversation ever evicted.</summary>
    public long Position => Folded + Dropped;
}

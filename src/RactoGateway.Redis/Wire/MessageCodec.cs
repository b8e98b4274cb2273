using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using RESPite.Messages;
using StackExchange.Redis;

namespace RactoGateway.Redis.Wire;

/// <summary>
/// The one owner of the wire format: one UTF-8 JSON object per list element. A plain message is exactly
/// <c>{"role": ..., "content": ...}</c>, as Python ractogateway writes it with <c>json.dumps</c>; optional fields follow
/// (see <see cref="WireMessage"/>). Nothing else builds or parses element JSON.
/// </summary>
internal static class MessageCodec
{
    // Compact JSON with non-ASCII text left as UTF-8 rather than Python's "\u00e9" escapes: the same JSON value
    // (json.loads reads both), and smaller for non-Latin text. "Relaxed" escaping only matters when JSON is embedded
    // in HTML, which a Redis list element never is; quotes and control characters are still escaped.
    private static readonly ChatMemoryJsonContext Context = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    });

    /// <summary>Encodes a plain message.</summary>
    public static byte[] Encode(string role, string content) => Encode(new ChatMemoryMessage(role, content));

    /// <summary>Encodes a message with whatever optional fields it has (the bytes an append stores).</summary>
    public static byte[] Encode(ChatMemoryMessage message)
    {
        using var buffer = EncodeBuffer.Rent();
        buffer.WriteElement(message);
        return buffer.Slice(0, buffer.Length).ToArray();
    }

    /// <summary>
    /// Writes the element of <paramref name="message"/>: a plain message by hand (<c>{"role":...,"content":...}</c>, no
    /// intermediate object), any other through the source-generated serializer. <paramref name="writer"/> must use
    /// <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/> and no indentation (see <see cref="EncodeBuffer"/>):
    /// a serializer writing to a given writer takes its escaping from the writer.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, ChatMemoryMessage message)
    {
        if (message.IsPlain)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, message.Role);
            writer.WriteString("content"u8, message.Content);
            writer.WriteEndObject();
        }
        else
        {
            JsonSerializer.Serialize(writer, ToWire(message), Context.WireMessage);
        }
    }

    /// <summary>
    /// The bytes that follow the role in an element carrying <paramref name="messageId"/>: <c>,"id":"..."</c>, escaped
    /// exactly as <see cref="Encode(ChatMemoryMessage)"/> escapes it. <c>append.lua</c> compares them to find a retry.
    /// </summary>
    public static byte[] IdMarker(string messageId)
    {
        var encoded = JsonEncodedText.Encode(messageId, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;
        return [.. ",\"id\":\""u8, .. encoded, (byte)'"'];
    }

    /// <summary>Writes <see cref="IdMarker(string)"/>'s bytes into <paramref name="buffer"/>.</summary>
    public static void WriteIdMarker(EncodeBuffer buffer, string messageId)
    {
        buffer.Write(",\"id\":\""u8);
        buffer.Write(JsonEncodedText.Encode(messageId, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes);
        buffer.Write("\""u8);
    }

    /// <summary>
    /// Decodes one list element. Returns <see langword="null"/> for a corrupt element: not JSON, JSON that is not an
    /// object, or an object whose <c>role</c> or <c>content</c> is missing or not a string (or an optional field of the
    /// wrong type).
    /// </summary>
    public static ChatMemoryMessage? TryDecode(RedisValue element) =>
        element.IsNull ? null : TryDecodeJson(((ReadOnlyMemory<byte>)element).Span);

    /// <inheritdoc cref="TryDecode(RedisValue)"/>
    public static ChatMemoryMessage? TryDecodeJson(ReadOnlySpan<byte> json)
    {
        try
        {
            return TryDecodePlain(json, out var message) ? message : DecodeFull(json);
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

    /// <summary>
    /// The fast path for the common element, <c>{"role","content"}</c> plus fields we do not know: one pass of a
    /// reader, no intermediate object, and the four known roles shared rather than allocated. Returns false when the
    /// element carries an optional field of ours, which <see cref="DecodeFull"/> reads.
    /// </summary>
    private static bool TryDecodePlain(ReadOnlySpan<byte> json, out ChatMemoryMessage? message)
    {
        message = null;
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return true;
        }

        string? role = null, content = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isRole = reader.ValueTextEquals("role"u8);
            var isContent = !isRole && reader.ValueTextEquals("content"u8);
            if (!isRole && !isContent && IsOptionalField(ref reader))
            {
                return false;
            }

            reader.Read();
            if (isRole || isContent)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    return true;
                }

                if (isRole)
                {
                    role = KnownRole(ref reader) ?? reader.GetString();
                }
                else
                {
                    content = reader.GetString();
                }
            }
            else
            {
                reader.Skip();
            }
        }

        // The object must close, with nothing after it (Read throws on trailing data).
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return true;
        }

        message = role is not null && content is not null ? new ChatMemoryMessage(role, content) : null;
        return true;
    }

    private static bool IsOptionalField(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("tool_calls"u8)
        || reader.ValueTextEquals("tool_call_id"u8) || reader.ValueTextEquals("timestamp"u8) || reader.ValueTextEquals("metadata"u8)
        || reader.ValueTextEquals("contents"u8);

    private static string? KnownRole(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("user"u8) ? ChatRoles.User
        : reader.ValueTextEquals("assistant"u8) ? ChatRoles.Assistant
        : reader.ValueTextEquals("system"u8) ? ChatRoles.System
        : reader.ValueTextEquals("tool"u8) ? ChatRoles.Tool
        : null;

    private static ChatMemoryMessage? DecodeFull(ReadOnlySpan<byte> json)
    {
        var wire = JsonSerializer.Deserialize(json, Context.WireMessage);
        return wire is { Role: { } role, Content: { } content } ? FromWire(wire, role, content) : null;
    }

    /// <summary>Decodes a whole list, oldest first, skipping corrupt elements and counting them. A rolling summary
    /// (see <see cref="SummaryElement"/>) is returned with <see cref="ChatMemoryMessage.IsSummary"/> set, once it has
    /// text; its pending elements are not returned.</summary>
    public static List<ChatMemoryMessage> DecodeAll(RedisValue[] elements, out int skipped)
    {
        var messages = new List<ChatMemoryMessage>(elements.Length);
        var walk = new ListWalk();
        foreach (var element in elements)
        {
            walk.Add(element.IsNull ? default : ((ReadOnlyMemory<byte>)element).Span, element.IsNull, messages);
        }

        skipped = walk.Skipped;
        return messages;
    }

    /// <summary>
    /// Decodes a whole <c>LRANGE</c> reply straight from StackExchange.Redis's pooled reply buffer: one span per element,
    /// no <c>byte[]</c> or <see cref="RedisValue"/> per element. Corrupt elements (and a null element) are skipped and
    /// counted, and a summary is handled, exactly as <see cref="DecodeAll(RedisValue[], out int)"/> does; a null or
    /// non-array reply reads as empty.
    /// </summary>
    public static List<ChatMemoryMessage> DecodeAll(RespResult reply, out int skipped, out int elements)
    {
        skipped = 0;
        elements = 0;
        if (reply.IsNull)
        {
            return [];
        }

        var reader = reply.Read();
        if (!reader.IsAggregate || reader.IsNull)
        {
            return [];
        }

        elements = reader.AggregateLength();
        var messages = new List<ChatMemoryMessage>(elements);
        var walk = new ListWalk();
        for (var i = 0; i < elements; i++)
        {
            reader.MoveNext();
            if (reader.IsNull || !reader.IsScalar)
            {
                walk.Add(default, corrupt: true, messages);
            }
            else if (reader.TryGetSpan(out var json))
            {
                walk.Add(json, corrupt: false, messages);
            }
            else
            {
                walk.Add(reader.ReadByteArray().AsSpan(), corrupt: false, messages);
            }

            if (reader.IsAggregate)
            {
                reader.SkipChildren();
            }
        }

        skipped = walk.Skipped;
        return messages;
    }

    /// <summary>A list read in order: the pinned system messages, a summary (marked, or left out while it has no text),
    /// its pending elements (left out), then the window.</summary>
    private struct ListWalk
    {
        private bool _pastHead;
        private long _pending;

        public int Skipped { get; private set; }

        public void Add(ReadOnlySpan<byte> json, bool corrupt, List<ChatMemoryMessage> messages)
        {
            if (_pending > 0)
            {
                _pending--;
                return;
            }

            var summary = false;
            if (!_pastHead && !corrupt && SummaryElement.TryReadHeader(json, out var header))
            {
                summary = _pastHead = true;
                _pending = header.Pending;
            }

            var message = corrupt ? null : TryDecodeJson(json);
            if (message is null)
            {
                Skipped++;
                _pastHead = true;
            }
            else if (summary)
            {
                if (message.Content.Length > 0)
                {
                    messages.Add(message with { IsSummary = true });
                }
            }
            else
            {
                _pastHead |= message.Role != ChatRoles.System;
                messages.Add(message);
            }
        }
    }

    /// <summary>UTF-8 bytes of the free text a message carries (content and tool-call arguments), for MaxMessageBytes.</summary>
    public static long TextBytes(ChatMemoryMessage message)
    {
        long bytes = Encoding.UTF8.GetByteCount(message.Content);
        foreach (var call in message.ToolCalls ?? [])
        {
            bytes += Encoding.UTF8.GetByteCount(call.Arguments);
        }

        return bytes + (message.ExtraContentsJson is { } extra ? Encoding.UTF8.GetByteCount(extra) : 0);
    }

    private static WireMessage ToWire(ChatMemoryMessage m) => new()
    {
        Role = m.Role,
        Id = m.MessageId,
        Content = m.Content,
        Name = m.AuthorName,
        ToolCalls = m.ToolCalls?.Select(c => new WireToolCall { Id = c.Id, Function = new WireFunction { Name = c.Name, Arguments = c.Arguments } }).ToList(),
        ToolCallId = m.ToolCallId,
        Timestamp = m.Timestamp,
        Metadata = m.Metadata?.ToDictionary(kv => kv.Key, kv => kv.Value),
        Contents = m.ExtraContentsJson is { } json ? JsonDocument.Parse(json).RootElement.Clone() : null,
    };

    private static ChatMemoryMessage? FromWire(WireMessage w, string role, string content)
    {
        List<ChatMemoryToolCall>? calls = null;
        if (w.ToolCalls is { } wireCalls)
        {
            calls = new List<ChatMemoryToolCall>(wireCalls.Count);
            foreach (var c in wireCalls)
            {
                if (c is not { Id: { } id, Function: { Name: { } name, Arguments: { } arguments } })
                {
                    return null;
                }

                calls.Add(new ChatMemoryToolCall(id, name, arguments));
            }
        }

        return new ChatMemoryMessage(role, content)
        {
            MessageId = w.Id,
            AuthorName = w.Name,
            ToolCalls = calls,
            ToolCallId = w.ToolCallId,
            Timestamp = w.Timestamp,
            Metadata = w.Metadata,
            ExtraContentsJson = w.Contents is { ValueKind: JsonValueKind.Array } contents ? contents.GetRawText() : null,
        };
    }
}

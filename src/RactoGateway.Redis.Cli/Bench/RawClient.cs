using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>
/// The raw client, for the ceilings <c>scripts/bench.sh</c> compares with: StackExchange.Redis called directly on
/// <c>Connections</c> multiplexers in turn, on the keys and script the memory uses, with no library in between. It
/// knows the library only as an outside client would: its public API, its key names and its <c>append.lua</c> (linked
/// into this tool as a resource).
/// </summary>
internal sealed class RawClient
{
    private readonly IConnectionMultiplexer[] _connections;
    private readonly IDatabase[] _databases;
    private readonly RedisChatMemory _memory;
    private readonly RedisValue _window;
    private readonly RedisValue _ttl;
    private byte[] _sha1 = [];
    private uint _next;

    public RawClient(IConnectionMultiplexer[] connections, RedisChatMemory memory, ChatMemoryConfig config)
    {
        // The rule argument for pins or whole exchanges is the library's to build; the ceilings need only the plain rule.
        if (!config.Window.IsSeedRule)
        {
            throw new ArgumentException("The raw-* scenarios run the plain window rule: leave out --pin-system.");
        }

        _connections = connections;
        _databases = Array.ConvertAll(connections, c => c.GetDatabase());
        _memory = memory;
        _window = config.WindowSize;
        _ttl = config.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : 0L;
    }

    /// <summary>Loads append.lua on every server, as a raw client calling EVALSHA must before its first call.</summary>
    public async Task PrepareAsync()
    {
        using var stream = typeof(RawClient).Assembly.GetManifestResourceStream("chatmem.append.lua")
            ?? throw new InvalidOperationException("append.lua is missing from chatmem's resources.");
        using var reader = new StreamReader(stream);
        var script = await reader.ReadToEndAsync().ConfigureAwait(false);
        foreach (var connection in _connections)
        {
            foreach (var endpoint in connection.GetEndPoints())
            {
                _sha1 = await connection.GetServer(endpoint).ScriptLoadAsync(script).ConfigureAwait(false);
            }
        }
    }

    /// <summary>LRANGE key 0 -1 into a <see cref="RedisValue"/>[], no decoding.</summary>
    public Task<RedisValue[]> ReadAsync(string id) => Next().ListRangeAsync(_memory.GetKey(id));

    /// <summary>LRANGE and a plain decoder (role and content with <see cref="Utf8JsonReader"/>) on the <see cref="RedisValue"/>s.</summary>
    public async Task<int> ReadDecodedAsync(string id)
    {
        var elements = await ReadAsync(id).ConfigureAwait(false);
        var messages = new List<ChatMemoryMessage>(elements.Length);
        foreach (var element in elements)
        {
            if (Decode(((ReadOnlyMemory<byte>)element).Span) is { } message)
            {
                messages.Add(message);
            }
        }

        return messages.Count;
    }

    /// <summary>EVALSHA of append.lua as a plain client would call it: arrays and an encoded element per call.</summary>
    public Task<RedisResult> AppendAsync(string id, string role, string content) =>
        Next().ScriptEvaluateAsync(_sha1, [_memory.GetKey(id)], [_window, _ttl, 0, 0, 0, 0, RedisValue.EmptyString, Encode(role, content)]);

    private IDatabase Next() => _databases[(int)(Interlocked.Increment(ref _next) % (uint)_databases.Length)];

    private static byte[] Encode(string role, string content)
    {
        var buffer = new ArrayBufferWriter<byte>(content.Length + 32);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("role", role);
            writer.WriteString("content", content);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static ChatMemoryMessage? Decode(ReadOnlySpan<byte> json)
    {
        string? role = null, content = null;
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    var isRole = reader.ValueTextEquals("role"u8);
                    var isContent = !isRole && reader.ValueTextEquals("content"u8);
                    reader.Read();
                    if (isRole || isContent)
                    {
                        (isRole ? ref role : ref content) = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return role is not null && content is not null ? new ChatMemoryMessage(role, content) : null;
    }
}

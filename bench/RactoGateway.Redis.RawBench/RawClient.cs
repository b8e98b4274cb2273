using System.Text.Json;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>
/// The raw client, for the ceilings <c>scripts/bench.sh</c> compares with: StackExchange.Redis called directly on
/// <c>Connections</c> multiplexers in turn, on the keys and script the memory uses, with no library in between: arrays of
/// arguments and an encoded element per call, as a plain client would send them. The arguments come from the library's
/// one writer (<see cref="AppendArguments"/>) and the script text from <see cref="ChatMemoryScripts"/>.
/// </summary>
internal sealed class RawClient
{
    private readonly IConnectionMultiplexer[] _connections;
    private readonly IDatabase[] _databases;
    private readonly RedisChatMemory _memory;
    private readonly AppendArguments _arguments;
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
        _arguments = new AppendArguments(config);
    }

    /// <summary>Loads append.lua on every server, as a raw client calling EVALSHA must before its first call.</summary>
    public async Task PrepareAsync()
    {
        foreach (var connection in _connections)
        {
            foreach (var endpoint in connection.GetEndPoints())
            {
                _sha1 = await connection.GetServer(endpoint).ScriptLoadAsync(ChatMemoryScripts.Append.Text).ConfigureAwait(false);
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
        Next().ScriptEvaluateAsync(_sha1, [_memory.GetKey(id)], _arguments.Append([new ChatMemoryMessage(role, content)]));

    private IDatabase Next() => _databases[(int)(Interlocked.Increment(ref _next) % (uint)_databases.Length)];

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

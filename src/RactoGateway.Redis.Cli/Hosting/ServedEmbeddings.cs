using Garnet.common;
using Garnet.server;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Embeddings;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// <c>chatmem serve</c> embeds for the commands that use it: its Garnet answers <c>CHATMEM.EMBED text [text ...]</c> with
/// the MiniLM vectors of the texts (one bulk string: 384 little-endian float32 per text, in order), from one model it
/// loads once. A <c>chatmem recall</c> (or chat, demo) against a running serve then starts no model of its own:
/// the load (about half a second) was what kept recall near a second when every other command took a third of that.
/// (mcp and bench load their own: mcp is long-lived, and bench measures the model.)
/// Loopback only, like the server; the command reads and writes no key.
/// </summary>
internal static class ServedEmbeddings
{
    public const string Command = "CHATMEM.EMBED";

    private const int VectorBytes = MiniLMEmbeddingGenerator.Dimensions * sizeof(float);

    /// <summary>Registers <see cref="Command"/> on <paramref name="server"/>, embedding with <paramref name="generator"/>,
    /// and loads the model in the background so that the first request finds it ready.</summary>
    public static void Register(Garnet.GarnetServer server, MiniLMEmbeddingGenerator generator)
    {
        server.Register.NewProcedure(Command, () => new EmbedProcedure(generator));
        _ = Task.Run(() => generator.GenerateAsync([string.Empty]));
    }

    /// <summary>The generator for a session: the running serve's when the session uses one, else a model of this process's own.</summary>
    public static IEmbeddingGenerator<string, Embedding<float>> For(MemorySession session) =>
        session.IsServed ? new Client(session) : new MiniLMEmbeddingGenerator();

    private sealed class EmbedProcedure(MiniLMEmbeddingGenerator generator) : CustomProcedure
    {
        public override bool Execute<TGarnetApi>(TGarnetApi garnetApi, ref CustomProcedureInput procInput, ref MemoryResult<byte> output)
        {
            var count = procInput.parseState.Count;
            if (count == 0)
            {
                WriteError(ref output, $"ERR wrong number of arguments for '{Command}': give one or more texts");
                return true;
            }

            var texts = new string[count];
            var offset = 0;
            for (var i = 0; i < count; i++)
            {
                texts[i] = System.Text.Encoding.UTF8.GetString(GetNextArg(ref procInput, ref offset).ReadOnlySpan);
            }

            // Completes before it returns (the work is CPU-bound, on this session's thread).
            var embeddings = generator.GenerateAsync(texts).GetAwaiter().GetResult();
            var reply = new byte[count * VectorBytes];
            for (var i = 0; i < count; i++)
            {
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(embeddings[i].Vector.Span).CopyTo(reply.AsSpan(i * VectorBytes));
            }

            WriteBulkString(ref output, reply);
            return true;
        }
    }

    /// <summary>Embeds through the running serve, on a connection of the session's own.</summary>
    private sealed class Client(MemorySession session) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly EmbeddingGeneratorMetadata _metadata = new("chatmem-serve", providerUri: null, MiniLMEmbeddingGenerator.ModelId, MiniLMEmbeddingGenerator.Dimensions);
        private Task<IConnectionMultiplexer>? _connection;

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(values);
            var texts = values.ToArray();
            var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
            if (texts.Length == 0)
            {
                return result;
            }

            var connection = await (_connection ??= session.ConnectAsync()).WaitAsync(cancellationToken);
            var reply = (byte[]?)await connection.GetDatabase().ExecuteAsync(Command, [.. texts]).WaitAsync(cancellationToken)
                ?? throw new InvalidOperationException($"{Command} answered nil");
            if (reply.Length != texts.Length * VectorBytes)
            {
                throw new InvalidOperationException($"{Command} answered {reply.Length} bytes for {texts.Length} texts; {VectorBytes} each were expected");
            }

            var createdAt = DateTimeOffset.UtcNow;
            for (var i = 0; i < texts.Length; i++)
            {
                var vector = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reply.AsSpan(i * VectorBytes, VectorBytes)).ToArray();
                result.Add(new Embedding<float>(vector) { ModelId = MiniLMEmbeddingGenerator.ModelId, CreatedAt = createdAt });
            }

            return result;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;

        // The connection is the session's: it closes it.
        public void Dispose()
        {
        }
    }
}

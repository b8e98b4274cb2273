using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Embeddings;

namespace RactoGateway.Redis.Cli.Mcp;

/// <summary>
/// What the tools of <c>chatmem mcp</c> work on, opened once for the server's life from the global options: the memory
/// (with its owners, so that clearing a conversation also deletes its recall vectors and owner entry), and recall for
/// search_memory (a memory with --summarize semantics composed with the offline MiniLM embedder, whose model loads on
/// the first search only). Every tool calls the library's public API; nothing here repeats one of its rules.
/// </summary>
internal sealed class McpMemory : IDisposable
{
    private readonly MiniLMEmbeddingGenerator _embeddings = new();

    public McpMemory(MemorySession session, ChatMemoryConfig config)
    {
        Config = config;
        Endpoint = session.Endpoint;
        Memory = session.Open(config, new ChatMemoryFeatures().AddOwners());
        Owners = Memory.GetRequiredService<ChatMemoryOwners>();

        // Recall reads what a summarizer indexed; a memory that recalls is one that keeps evicted messages.
        var recallConfig = Memory.Config; // a copy
        recallConfig.Summarize = true;
        Recall = session.Open(recallConfig, new ChatMemoryFeatures().AddRecall(_embeddings)).GetRequiredService<ChatMemoryRecall>();
    }

    /// <summary>The settings the memory was opened with (--prefix, --max-turns, ...).</summary>
    public ChatMemoryConfig Config { get; }

    /// <summary>host:port of the server, for messages (never a password).</summary>
    public string Endpoint { get; }

    public RedisChatMemory Memory { get; }

    public ChatMemoryOwners Owners { get; }

    public ChatMemoryRecall Recall { get; }

    public void Dispose() => _embeddings.Dispose();
}

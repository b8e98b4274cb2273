// dotnet add package RactoGateway.Redis.Embeddings   (offline MiniLM: no network, no key)
using Microsoft.Extensions.AI;
using RactoGateway.Redis;
using RactoGateway.Redis.Embeddings;

namespace ReadmeSnippets;

/// <summary>README.md, "Long-term recall": the snippet verbatim; the parameters are its free variables.</summary>
internal static class LongTermRecall
{
    public static async Task RunAsync(IChatClient summaryModel)
    {
var memory = new RedisChatMemory("redis://localhost:6379", new ChatMemoryConfig { Summarize = true });
var summarizer = new ChatMemorySummarizer(memory, summaryModel);     // indexes what leaves the window, then folds it in
var recall = new ChatMemoryRecall(memory, new MiniLMEmbeddingGenerator());
await recall.SetOwnerAsync("c1", "user-42");                         // optional: list, search across, erase by owner
IReadOnlyList<RecalledMessage> hits = await recall.RecallAsync("c1", "What is my dog's name?", top: 5);
    }
}

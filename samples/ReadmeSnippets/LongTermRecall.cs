// dotnet add package RactoGateway.Redis.Embeddings   (offline MiniLM: no network, no key)
using Microsoft.Extensions.AI;
using RactoGateway.Redis;
using RactoGateway.Redis.Embeddings;

namespace ReadmeSnippets;

/// <summary>README.md, "Long-term recall": the snippet verbatim; the parameters are its free variables.</summary>
internal static class LongTermRecall
{
    public static async Task RunAsync(IChatClient summaryModel, CancellationToken stopping)
    {
#pragma warning disable CA2016 // The README's snippet, verbatim: short, without tokens.
var memory = new RedisChatMemory("redis://localhost:6379", new ChatMemoryConfig { Summarize = true })
{
    Features = new ChatMemoryFeatures()
        .AddSummarizer(summaryModel)                                  // indexes what leaves the window, then folds it in
        .AddRecall(new MiniLMEmbeddingGenerator()),
};
_ = memory.GetRequiredService<ChatMemorySummarizer>().RunAsync(stopping);
await memory.GetRequiredService<ChatMemoryOwners>().SetOwnerAsync("c1", "user-42");  // optional: list, erase by owner
var recall = memory.GetRequiredService<ChatMemoryRecall>();
IReadOnlyList<RecalledMessage> hits = await recall.RecallAsync("c1", "What is my dog's name?", top: 5);
#pragma warning restore CA2016
    }
}

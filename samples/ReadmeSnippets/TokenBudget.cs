// dotnet add package RactoGateway.Redis.Tokenizers   (OpenAI o200k_base, via Microsoft.ML.Tokenizers)
using RactoGateway.Redis;
using RactoGateway.Redis.Tokenizers;

namespace ReadmeSnippets;

/// <summary>README.md, "Reading under a token budget": the snippet verbatim; the parameters are its free variables.</summary>
internal static class TokenBudget
{
    public static async Task RunAsync(RactoGateway.Redis.RedisChatMemory memory)
    {
var config = new ChatMemoryConfig { Window = { PinSystemMessages = true, ToolCallAware = true } }.UseO200kTokenCounter();
IReadOnlyList<ChatMemoryMessage> fits = await memory.GetHistoryAsync("c1", maxTokens: 4000);
    }
}

using RactoGateway.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Use": the snippet verbatim; the parameters are its free variables.</summary>
internal static class Use
{
    public static async Task RunAsync()
    {
await using var memory = new RedisChatMemory(
    "redis://localhost:6379/0",
    new ChatMemoryConfig { MaxTurns = 20, Ttl = TimeSpan.FromMinutes(30) });

await memory.AppendAsync("conv_abc", ChatRoles.User, "What is the capital of France?");
await memory.AppendAsync("conv_abc", ChatRoles.Assistant, "Paris.");

IReadOnlyList<ChatMemoryMessage> history = await memory.GetHistoryAsync("conv_abc");
// [ChatMemoryMessage { Role = user, Content = What is the capital of France? },
//  ChatMemoryMessage { Role = assistant, Content = Paris. }]

long stored = await memory.CountAsync("conv_abc");   // 2
await memory.ClearAsync("conv_abc");
    }
}

using RactoGateway.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Conversation-aware windows": the snippet verbatim; the parameters are its free variables.</summary>
internal static class ConversationAwareWindows
{
    public static void Run(string url)
    {
var memory = new RedisChatMemory(url, new ChatMemoryConfig
{
    MaxTurns = 10,
    Window = { PinSystemMessages = true, ToolCallAware = true },
});
    }
}

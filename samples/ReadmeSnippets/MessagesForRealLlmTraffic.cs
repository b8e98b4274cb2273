using RactoGateway.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Messages for real LLM traffic": the snippet verbatim; the parameters are its free variables.</summary>
internal static class MessagesForRealLlmTraffic
{
    public static async Task RunAsync(RactoGateway.Redis.RedisChatMemory memory)
    {
await memory.AppendManyAsync("c1", [
    new ChatMemoryMessage("user", "Weather in Paris?") { MessageId = "m1" },
    new ChatMemoryMessage("assistant", "") { ToolCalls = [new("call_1", "get_weather", """{"city":"Paris"}""")] },
    new ChatMemoryMessage("tool", "21C") { ToolCallId = "call_1" },
    new ChatMemoryMessage("assistant", "It is 21C in Paris."),
]);                                                     // one round trip, no other writer interleaves
await memory.AppendTurnAsync("c1", "Thanks!", "You're welcome.");   // a turn: one round trip, never split
    }
}

using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Agents.Tests;

/// <summary>A real <see cref="ChatClientAgent"/> over the strict provider test model (<see cref="StrictChatClient"/>: a
/// request a provider would refuse fails the run with the provider's error), its history in a memory.</summary>
internal static class AgentHarness
{
    public static ChatClientAgent NewAgent(
        IChatClient client, RedisChatMemory memory, RedisChatHistoryProviderOptions? options = null, IList<AITool>? tools = null) =>
        client.AsAIAgent(new ChatClientAgentOptions
        {
            Name = "assistant",
            ChatOptions = new ChatOptions { Instructions = "Be brief.", Tools = tools },
        }.UseRedisChatHistory(memory, options));

    public static RedisChatHistoryProvider Provider(this ChatClientAgent agent) =>
        Assert.IsType<RedisChatHistoryProvider>(agent.ChatHistoryProvider);

    /// <summary>"role: text" per message, to compare whole conversations at a glance.</summary>
    public static string[] Lines(this IEnumerable<ChatMessage> messages) => [.. messages.Select(m => $"{m.Role}: {m.Text}")];
}

// dotnet add package RactoGateway.Redis.Agents
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Agents;

namespace ReadmeSnippets;

/// <summary>README.md, "Recall for agents": the snippet verbatim; the parameters are its free variables.</summary>
internal static class RecallAgents
{
    public static void Run(
        Microsoft.Extensions.AI.IChatClient chatClient, RactoGateway.Redis.RedisChatMemory memory, RactoGateway.Redis.ChatMemoryRecall recall)
    {
AIAgent agent = chatClient.AsAIAgent(new ChatClientAgentOptions { ChatOptions = new() { Instructions = "Be brief." } }
    .UseRedisChatHistory(memory)
    .UseRedisRecall(recall, new RedisRecallContextProviderOptions { Top = 5 }));
    }
}

// dotnet add package RactoGateway.Redis.Agents
using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Agents;

namespace ReadmeSnippets;

/// <summary>README.md, "Microsoft Agent Framework": the snippet verbatim; the parameters are its free variables.</summary>
internal static class AgentFramework
{
    public static async Task RunAsync(Microsoft.Extensions.AI.IChatClient chatClient, RactoGateway.Redis.RedisChatMemory memory)
    {
AIAgent agent = chatClient.AsAIAgent(new ChatClientAgentOptions { ChatOptions = new() { Instructions = "Be brief." } }
    .UseRedisChatHistory(memory));                  // or: new RedisChatHistoryProviderOptions { MaxTokens = 4000 }
AgentSession session = await agent.CreateSessionAsync();
await agent.RunAsync("Weather in Paris?", session);
JsonElement saved = await agent.SerializeSessionAsync(session);   // resume anywhere with DeserializeSessionAsync
    }
}

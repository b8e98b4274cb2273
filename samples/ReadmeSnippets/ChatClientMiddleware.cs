using Microsoft.Extensions.AI;
using RactoGateway.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "`IChatClient` middleware": the snippet verbatim; the parameters are its free variables.</summary>
internal static class ChatClientMiddleware
{
    public static async Task RunAsync(Microsoft.Extensions.AI.IChatClient innerClient, RactoGateway.Redis.RedisChatMemory memory)
    {
IChatClient client = new ChatClientBuilder(innerClient)
    .UseChatMemory(memory)                       // or UseChatMemory() to take the RedisChatMemory from DI
    .UseFunctionInvocation()
    .Build();

var reply = await client.GetResponseAsync("And tomorrow?", new ChatOptions { ConversationId = "c1" });
    }
}

using Microsoft.Extensions.AI;
using RactoGateway.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Microsoft.Extensions.AI": the snippet verbatim; the parameters are its free variables.</summary>
internal static class MicrosoftExtensionsAI
{
    public static async Task RunAsync(Microsoft.Extensions.AI.IChatClient client, RactoGateway.Redis.RedisChatMemory memory, string question)
    {
// client: any IChatClient (OpenAI, Azure OpenAI, Ollama, ...); memory: a RedisChatMemory
var history = await memory.GetChatMessagesAsync("c1");            // IReadOnlyList<ChatMessage>
var response = await client.GetResponseAsync([.. history, new ChatMessage(ChatRole.User, question)]);
await memory.AppendManyAsync("c1", [new ChatMessage(ChatRole.User, question), .. response.Messages]);
    }
}

using Microsoft.Extensions.AI;
using RactoGateway.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Recall in the middleware": the snippet verbatim; the parameters are its free variables.</summary>
internal static class RecallMiddleware
{
    public static void Run(
        Microsoft.Extensions.AI.IChatClient innerClient,
        RactoGateway.Redis.RedisChatMemory memory)
    {
// memory composed with a summarizer and recall (see "Long-term recall")
IChatClient client = new ChatClientBuilder(innerClient)
    .UseChatMemory(memory, o => o.RecallTop = 5)          // finds the recall: o.Recall, else DI, else the memory's
    .Build();
    }
}

using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Throughput: auto-pipelining, the GC, connections and the thread pool" (allocation): the snippet
/// verbatim.</summary>
internal static class ReplyBuffers
{
    public static async Task<IConnectionMultiplexer> RunAsync()
    {
var options = ConfigurationOptions.Parse("localhost:6379");
options.ResponseBufferPool = ChatMemoryReplyBufferPool.Instance;   // as on the connections the memory opens itself
var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
        return multiplexer;
    }
}

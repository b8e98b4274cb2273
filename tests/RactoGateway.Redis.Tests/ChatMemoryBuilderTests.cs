using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RactoGateway.Redis.Testing;

namespace RactoGateway.Redis.Tests;

/// <summary>services.AddRedisChatMemory(...).AddSummarizer().AddRecall(): each memory, keyed or not, is built with its
/// own features, which resolve as (keyed) singletons and are the memory's own.</summary>
public sealed class ChatMemoryBuilderTests
{
    [Theory, InlineData("redis"), InlineData("garnet-vector")]
    public async Task A_keyed_memory_is_composed_with_its_summarizer_and_recall_and_the_unkeyed_one_with_none(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var (plainPrefix, supportPrefix) = (TestServers.UniquePrefix(), TestServers.UniquePrefix());
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IChatClient>(model);
        builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(new WordHashEmbeddingGenerator());
        builder.Services
            .AddRedisChatMemory(server.ConnectionString, c => c.KeyPrefix = plainPrefix)
            .AddKeyedRedisChatMemory("support", server.ConnectionString, c =>
            {
                c.KeyPrefix = supportPrefix;
                c.MaxTurns = 1;
                c.Summarize = true;
            })
            .AddSummarizer(o => o.Delay = TimeSpan.Zero)
            .AddRecall();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var support = host.Services.GetRequiredKeyedService<RedisChatMemory>("support");
            Assert.Same(support.GetService<ChatMemorySummarizer>(), host.Services.GetRequiredKeyedService<ChatMemorySummarizer>("support"));
            Assert.Same(support.GetService<ChatMemoryRecall>(), host.Services.GetRequiredKeyedService<ChatMemoryRecall>("support"));
            Assert.Same(support.GetService<ChatMemoryOwners>(), host.Services.GetRequiredKeyedService<ChatMemoryOwners>("support"));
            Assert.Same(support, host.Services.GetRequiredKeyedService<IChatMemory>("support").GetService<RedisChatMemory>());
            var plain = host.Services.GetRequiredService<IChatMemory>();
            Assert.Null(plain.GetService<ChatMemorySummarizer>());
            Assert.Null(plain.GetService<ChatMemoryRecall>());
            Assert.Equal(plainPrefix, plain.GetService<ChatMemoryConfig>()!.KeyPrefix);

            // The hosted service is told of the keyed memory's evictions.
            for (var n = 0; n < 4; n++)
            {
                await support.AppendAsync("c", "user", $"m{n}");
            }

            var waited = Stopwatch.StartNew();
            while ((await support.GetHistoryAsync("c")).FirstOrDefault(m => m.IsSummary)?.Content != "m0 m1" && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            Assert.Equal(["m0 m1", "m2", "m3"], (await support.GetHistoryAsync("c")).Select(m => m.Content));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}

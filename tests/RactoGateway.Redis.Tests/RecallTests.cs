using RactoGateway.Redis.Testing;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Long-term recall wired to the rolling summary: indexing exactly once, search, TTL, clear, owners, erasure,
/// and servers without vector sets.</summary>
public sealed class RecallTests
{
    private static readonly string[] Chatter =
    [
        "I like hiking in the mountains.", "The weather is sunny today.", "Can you recommend a pasta recipe?",
        "My favourite colour is green.", "I work as a nurse at night.", "We went to Lisbon last spring.",
    ];

    private static async Task<(TestBed Bed, ChatMemorySummarizer Summarizer, ChatMemoryRecall Recall)> CreateAsync(string server, Action<ChatMemoryConfig>? configure = null)
    {
        var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Summarize = true;
            configure?.Invoke(c);
        }, features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();
        var summarizer = new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold });
        return (bed, summarizer, recall);
    }

    [Theory, VectorServers]
    public async Task Evicted_messages_are_indexed_once_and_recalled_by_meaning_with_the_conversation_expiry(string serverName)
    {
        var (bed, summarizer, recall) = await CreateAsync(serverName, c => c.Ttl = TimeSpan.FromMinutes(5));
        await using var _ = bed;
        await bed.Memory.AppendAsync("c", "user", "My dog is called Biscuit.");
        for (var n = 0; n < 600; n++)
        {
            await bed.Memory.AppendAsync("c", n % 2 == 0 ? "assistant" : "user", Chatter[n % Chatter.Length] + $" ({n})");
        }

        Assert.Equal(597, await summarizer.SummarizePendingAsync("c"));
        var key = (RedisKey)$"{bed.Config.KeyPrefix}#recall:c";
        Assert.Equal(597, (long)await bed.Raw.ExecuteAsync("VCARD", key));
        Assert.InRange((await bed.Raw.KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));

        var found = await recall.RecallAsync("c", "What is my dog called?", top: 3);
        Assert.Equal("My dog is called Biscuit.", found[0].Message.Content);
        Assert.Equal(("c", 0L), (found[0].ConversationId, found[0].Position));
        Assert.Equal(["user"], (await recall.RecallAsync("c", "dog", top: 1, filter: ".role == \"user\"")).Select(m => m.Message.Role));

        // The window is not indexed: only what left it.
        Assert.DoesNotContain(await recall.RecallAsync("c", "Lisbon spring", top: 50), m => m.Message.Content.EndsWith("(599)", StringComparison.Ordinal));

        // Cleared with the conversation.
        await bed.Memory.ClearAsync("c");
        Assert.False(await bed.Raw.KeyExistsAsync(key));
    }

    [Theory, VectorServers]
    public async Task An_owner_lists_searches_across_and_erases_all_of_their_conversations(string serverName)
    {
        var (bed, summarizer, recall) = await CreateAsync(serverName);
        await using var _ = bed;
        var owners = bed.Memory.GetRequiredService<ChatMemoryOwners>();
        string[] ids = ["trip", "pets", "work"];
        foreach (var id in ids)
        {
            await bed.Memory.AppendAsync(id, "user", $"Let us talk about {id}.");
            await owners.SetOwnerAsync(id, "alice");
            await bed.Memory.AppendAsync(id, "assistant", id == "pets" ? "Your cat Miso sleeps all day." : "Sure.");
            for (var n = 0; n < 8; n++)
            {
                await bed.Memory.AppendAsync(id, "user", Chatter[n % Chatter.Length]);
            }

            await summarizer.SummarizePendingAsync(id);
        }

        await owners.SetOwnerAsync("other", "bob");
        Assert.Equal(["work", "pets", "trip"], (await owners.ListConversationsAsync("alice")).Select(c => c.ConversationId));
        Assert.Equal("Let us talk about pets.", (await owners.ListConversationsAsync("alice"))[1].Title);
        var hit = (await recall.RecallForOwnerAsync("alice", "my cat Miso", top: 1))[0];
        Assert.Equal(("pets", "Your cat Miso sleeps all day."), (hit.ConversationId, hit.Message.Content));

        Assert.Equal(3, await owners.DeleteOwnerAsync("alice"));
        var left = new List<string>();
        foreach (var server in bed.RawConnection.GetServers())
        {
            await foreach (var k in server.KeysAsync(pattern: bed.Config.KeyPrefix + "*"))
            {
                left.Add((string)k!);
            }
        }

        // Only bob's index entry remains: no list, vector set or index key of alice's.
        Assert.DoesNotContain(left, k => ids.Any(id => k.EndsWith(id, StringComparison.Ordinal)) || k.EndsWith("alice", StringComparison.Ordinal));
        Assert.Empty(await owners.ListConversationsAsync("alice"));
        Assert.Single(await owners.ListConversationsAsync("bob"));
    }

    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("valkey")]
    public async Task Without_vector_sets_recall_says_what_is_needed_and_the_summary_keeps_working(string server)
    {
        var (bed, summarizer, recall) = await CreateAsync(server);
        await using var _ = bed;
        for (var n = 0; n < 10; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"m{n}");
        }

        Assert.Equal(6, await summarizer.SummarizePendingAsync("c"));
        Assert.Equal("m0 m1 m2 m3 m4 m5", (await bed.Memory.GetHistoryAsync("c"))[0].Content);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => recall.RecallAsync("c", "m1"));
        Assert.Contains("Redis 8 or later, or Garnet started with --enable-vector-set-preview", error.Message);
        await bed.Memory.ClearAsync("c");
        Assert.Equal(0, await bed.Memory.CountAsync("c"));
    }

    [Fact]
    public async Task Bad_arguments_are_refused_before_any_io()
    {
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"))
        {
            Features = new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()),
        }).ParamName);
        using var composed = new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"), new ChatMemoryConfig { Summarize = true })
        {
            Features = new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()),
        };
        var recall = composed.GetRequiredService<ChatMemoryRecall>();
        Assert.Throws<InvalidOperationException>(() => new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()).AddRecall(new WordHashEmbeddingGenerator()));
        Assert.Equal("query", (await Assert.ThrowsAsync<ArgumentException>(() => recall.RecallAsync("c", " "))).ParamName);
        Assert.Equal("top", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => recall.RecallAsync("c", "q", top: 0))).ParamName);
        Assert.Equal("owner", (await Assert.ThrowsAsync<ArgumentException>(() => composed.GetRequiredService<ChatMemoryOwners>().SetOwnerAsync("c", ""))).ParamName);
    }
}

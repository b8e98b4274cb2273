using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Testing;

namespace RactoGateway.Redis.Tests;

/// <summary>Two replicas summarizing the same conversations: one works on a conversation at a time (a lease), so each
/// evicted message is embedded once, not once per racing replica; the compare-and-set stays the guarantee.</summary>
[Collection(HeavyCollection.Name)]
public sealed class SummaryLeaseTests
{
    private static void Summarizing(ChatMemoryConfig config)
    {
        config.MaxTurns = 1;
        config.Summarize = true;
        config.MaxPendingMessages = 10_000;
    }

    // Causal, not timed: replica A is held inside its embedder (so it holds the conversation) until replica B has either
    // called its own embedder (two replicas working on one conversation: the defect) or logged that it waits for A.
    [Theory, VectorServers]
    public async Task A_replica_waits_while_another_works_on_the_conversation_and_embeds_nothing_twice(string serverName)
    {
        var counts = new ConcurrentDictionary<string, int>();
        var release = new TaskCompletionSource();
        var embedderA = new CountingEmbeddingGenerator(counts) { Gate = release.Task };
        var embedderB = new CountingEmbeddingGenerator(counts);
        var logB = new ListLogger<ChatMemorySummarizer>();
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        await using var bed = await TestBed.CreateAsync(serverName, Summarizing, features: new ChatMemoryFeatures().AddRecall(embedderA));
        await using var replica = bed.NewReplica(new ChatMemoryFeatures().AddRecall(embedderB));
        var summarizerA = new ChatMemorySummarizer(bed.Memory, model);
        var summarizerB = new ChatMemorySummarizer(replica, model, logger: logB);
        for (var n = 0; n < 3; n++)
        {
            await bed.Memory.AppendTurnAsync("c", $"question {n}", $"answer {n}");
        }

        var a = summarizerA.SummarizePendingAsync("c");
        await embedderA.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var b = summarizerB.SummarizePendingAsync("c");
        await Task.WhenAny(embedderB.Entered, WaitForLeaseBusyAsync(logB)).WaitAsync(TimeSpan.FromSeconds(30));
        release.SetResult();

        Assert.Equal(4, await a + await b);
        Assert.Equal(4, counts.Count);
        Assert.All(counts, c => Assert.Equal(1, c.Value));
        Assert.Equal(["question 2", "answer 2"], (await bed.Memory.GetHistoryAsync("c")).Skip(1).Select(m => m.Content));
    }

    [Theory, VectorServers]
    public async Task Two_replicas_racing_on_the_same_conversations_embed_each_evicted_message_once(string serverName)
    {
        const int Conversations = 6, Turns = 60;
        var counts = new ConcurrentDictionary<string, int>();
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        await using var bed = await TestBed.CreateAsync(serverName, Summarizing);
        await using var replicaA = bed.NewReplica(new ChatMemoryFeatures().AddRecall(new CountingEmbeddingGenerator(counts)));
        await using var replicaB = bed.NewReplica(new ChatMemoryFeatures().AddRecall(new CountingEmbeddingGenerator(counts)));
        ChatMemorySummarizer[] summarizers =
        [
            new(replicaA, model, new() { MaxMessagesPerCall = 5 }),
            new(replicaB, model, new() { MaxMessagesPerCall = 7 }),
        ];
        for (var c = 0; c < Conversations; c++)
        {
            for (var n = 0; n < Turns; n++)
            {
                await bed.Memory.AppendTurnAsync($"c{c}", $"c{c} question {n}", $"c{c} answer {n}");
            }
        }

        // Both replicas take every conversation, in opposite orders, at the same time.
        var folded = await Task.WhenAll(summarizers.Select((s, i) => Task.Run(async () =>
        {
            var total = 0;
            foreach (var c in i == 0 ? Enumerable.Range(0, Conversations) : Enumerable.Range(0, Conversations).Reverse())
            {
                total += await s.SummarizePendingAsync($"c{c}");
            }

            return total;
        })));

        const int Evicted = Conversations * (Turns - 1) * 2;
        Assert.Equal(Evicted, folded.Sum());
        Assert.Equal(Evicted, counts.Count);
        Assert.All(counts, c => Assert.Equal(1, c.Value));
    }

    // Causal: the model is held until the append has returned; a sync append that ran the model itself would come back
    // only after the model gave up waiting (and the assertion would then fail).
    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task A_sync_append_with_an_inline_summarizer_never_waits_for_the_model(string server)
    {
        using var appendReturned = new ManualResetEventSlim();
        var modelFinished = false;
        var model = new StrictChatClient
        {
            Responder = (sent, options, number) =>
            {
                appendReturned.Wait(TimeSpan.FromSeconds(20));
                Volatile.Write(ref modelFinished, true);
                return FoldReplies.Fold(sent, options, number);
            },
        };
        await using var bed = await TestBed.CreateAsync(server, Summarizing, features: new ChatMemoryFeatures().AddSummarizer(model, new() { Inline = true }));
        bed.Memory.Append("c", "user", "m0");
        bed.Memory.Append("c", "user", "m1");
        bed.Memory.Append("c", "user", "m2"); // evicts m0: the summarization starts, and its model call is held
        Assert.False(Volatile.Read(ref modelFinished));
        appendReturned.Set();

        // This call waits for the background summarization's lease: then m0 is folded in.
        await bed.Memory.GetRequiredService<ChatMemorySummarizer>().SummarizePendingAsync("c");
        Assert.True(Volatile.Read(ref modelFinished));
        Assert.Equal(["m0", "m1", "m2"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));
    }

    private static async Task WaitForLeaseBusyAsync(ListLogger<ChatMemorySummarizer> log)
    {
        while (!log.Entries.Any(e => e.Id.Name == "SummaryLeaseBusy"))
        {
            await Task.Delay(10);
        }
    }

    /// <summary>Counts how often each text is embedded (by the deterministic word-hash embedder); optionally holds its
    /// first call until <see cref="Gate"/> completes.</summary>
    private sealed class CountingEmbeddingGenerator(ConcurrentDictionary<string, int> counts) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly WordHashEmbeddingGenerator _inner = new();
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task? Gate { get; init; }

        public Task Entered => _entered.Task;

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var texts = values.ToList();
            foreach (var text in texts)
            {
                counts.AddOrUpdate(text, 1, (_, n) => n + 1);
            }

            _entered.TrySetResult();
            if (Gate is { } gate)
            {
                await gate.WaitAsync(cancellationToken);
            }

            return await _inner.GenerateAsync(texts, options, cancellationToken);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() => _inner.Dispose();
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>
/// <c>chatmem bench --scenario recall | recall-search</c>: <see cref="ChatMemoryRecall.RecallAsync"/> (top 5) by
/// <c>Concurrency</c> callers on one conversation whose vector set holds <c>--recall-messages</c> messages.
/// </summary>
/// <remarks>
/// <para>The set is filled through the public path, as an application fills it: messages are appended (200-byte-ish
/// sentences from a seeded word list), and a <see cref="ChatMemorySummarizer"/> whose model answers a constant text at
/// once folds them, which embeds and indexes each batch (<c>VADD</c>). The embedder is <see cref="HashingEmbedder"/>, a
/// deterministic feature-hashing bag of words (384 dimensions, like all-MiniLM-L6-v2), not a model: it costs
/// microseconds, so the figures are the library's and the server's cost. A real model adds its own time per query (the
/// offline MiniLM: a few ms per sentence on 2 cores), measured apart from this bench.</para>
/// <para><c>recall</c> measures the whole call: embed the query, <c>VSIM</c>, the <c>VGETATTR</c>s. <c>recall-search</c>
/// embeds every query before measuring, so the call's embedding is a dictionary look-up: what is left is the search.</para>
/// </remarks>
internal static class RecallScenario
{
    public const string Recall = "recall";
    public const string Search = "recall-search";

    /// <summary>The option that sets how many messages the conversation's vector set holds.</summary>
    public static readonly Option<int> Messages = new("--recall-messages")
    {
        Description = "recall, recall-search: messages stored (indexed for recall) in the one conversation searched, filled through the " +
            "summarizer with a deterministic hashing embedder (not a model) before measuring.",
        DefaultValueFactory = _ => 10_000,
    };

    private const int Top = 5;
    private const int Queries = 1000;
    private const string Conversation = "0";

    /// <summary>Whether <paramref name="scenario"/> is one of these.</summary>
    public static bool Handles(string scenario) => scenario is Recall or Search;

    /// <summary>Fills the vector set, then measures; like <see cref="LoadGenerator.RunAsync"/>, Ctrl-C returns what was
    /// measured until then.</summary>
    /// <param name="memory">A memory with <see cref="ChatMemoryConfig.Summarize"/> on (the bench command sets it).</param>
    /// <param name="settings">Callers, duration or count, warm-up.</param>
    /// <param name="messages">Messages to store and index before measuring.</param>
    /// <param name="progress">Receives progress lines, if any.</param>
    /// <param name="cancellationToken">Ctrl-C.</param>
    public static async Task<BenchResult> RunAsync(RedisChatMemory memory, BenchSettings settings, int messages, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (messages < 1)
        {
            throw new ArgumentException($"--recall-messages must be at least 1 (was {messages}).");
        }

        var recall = memory.GetRequiredService<ChatMemoryRecall>();
        var embedder = Embedder;
        try
        {
            // Before the fill: a server without vector sets would index nothing (the summarizer skips, as it should).
            await recall.RecallAsync(Conversation, "probe", cancellationToken: cancellationToken);
        }
        catch (NotSupportedException ex)
        {
            throw new ArgumentException($"--scenario {settings.Scenario}: {ex.Message}", ex);
        }

        var random = new Random(20261126);
        var queries = Enumerable.Range(0, Queries).Select(_ => Sentence(random, 12)).ToArray();
        var measured = new Measurement();
        try
        {
            var filling = Stopwatch.StartNew();
            await FillAsync(memory, messages, random, Math.Max(10, settings.MessageBytes / 7), progress, cancellationToken);
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{messages:N0} messages stored and indexed in {filling.Elapsed.TotalSeconds:F1} s (hashing embedder, 384 dims: not a model)"));
            if (settings.Scenario == Search)
            {
                foreach (var (query, embedding) in queries.Zip(await embedder.GenerateAsync(queries, cancellationToken: cancellationToken)))
                {
                    embedder.Precomputed[query] = embedding;
                }
            }

            if (settings.Warmup > TimeSpan.Zero)
            {
                await RunPhaseAsync(recall, queries, settings, settings.Warmup, null, null, null, cancellationToken);
            }

            measured.Start();
            await RunPhaseAsync(recall, queries, settings, settings.Duration, settings.Ops, measured.Samples, measured.Count, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: report what was measured.
        }

        return measured.Result(settings);
    }


    /// <summary>Appends <paramref name="messages"/> messages plus a full window (which stays unindexed) and summarizes
    /// them, 1,000 at a time (the default pending cap), so that exactly <paramref name="messages"/> are indexed.</summary>
    private static async Task FillAsync(RedisChatMemory memory, int messages, Random random, int words, Action<string>? progress, CancellationToken cancellationToken)
    {
        using var summarizer = new InstantSummarizer();
        var folder = new ChatMemorySummarizer(memory, summarizer, new ChatMemorySummarizerOptions { MaxMessagesPerCall = 1000 });
        var total = messages + (memory.Config.MaxTurns * 2);
        var step = Math.Min(1000, memory.Config.MaxPendingMessages);
        var indexed = 0L;
        var lastReport = Stopwatch.StartNew();
        for (var appended = 0; appended < total;)
        {
            var chunk = Math.Min(step, total - appended);
            var batch = Enumerable.Range(appended, chunk)
                .Select(i => new ChatMemoryMessage(i % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant, Sentence(random, words))).ToArray();
            await memory.AppendManyAsync(Conversation, batch, cancellationToken);
            appended += chunk;
            indexed += await folder.SummarizePendingAsync(Conversation, cancellationToken);
            if (progress is not null && lastReport.Elapsed > TimeSpan.FromSeconds(2))
            {
                progress(string.Create(CultureInfo.InvariantCulture, $"filling: {indexed:N0} / {messages:N0} indexed"));
                lastReport.Restart();
            }
        }
    }

    private static Task RunPhaseAsync(
        ChatMemoryRecall recall, string[] queries, BenchSettings settings, TimeSpan? duration, long? ops, long[]? samples, long[]? count, CancellationToken cancellationToken) =>
        LoadGenerator.MeasureAsync(settings.Concurrency, duration, ops, samples, count, async (random, cancellationToken) =>
        {
            var found = await recall.RecallAsync(Conversation, queries[random.Next(queries.Length)], Top, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (found.Count == 0)
            {
                throw new InvalidOperationException("RecallAsync found nothing in a filled conversation: the bench measures nothing.");
            }
        }, cancellationToken);

    // A vocabulary of pronounceable made-up words, so that messages differ as chat messages do (not one repeated text).
    private static readonly string[] Syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po", "ga", "li", "mo", "ta", "re", "su"];

    private static string Sentence(Random random, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => Syllables[random.Next(Syllables.Length)] + Syllables[random.Next(Syllables.Length)] + Syllables[random.Next(Syllables.Length)]));

    /// <summary>
    /// A deterministic feature-hashing embedder: each word adds ±1 to one of 384 dimensions (FNV-1a hash: index and
    /// sign), unit length. Not a language model; it stands in for one so the bench measures the library and the server.
    /// Queries found in <see cref="HashingEmbedder.Precomputed"/> are returned without computing (recall-search).
    /// </summary>
    public static HashingEmbedder Embedder { get; } = new HashingEmbedder();

    /// <summary>The embedder behind <see cref="Embedder"/>.</summary>
    internal sealed class HashingEmbedder : IEmbeddingGenerator<string, Embedding<float>>
    {
        private const int Dimensions = 384;

        public Dictionary<string, Embedding<float>> Precomputed { get; } = new(StringComparer.Ordinal);

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (var text in values)
            {
                result.Add(Precomputed.TryGetValue(text, out var known) ? known : new Embedding<float>(Embed(text)));
            }

            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }

        private static float[] Embed(string text)
        {
            var vector = new float[Dimensions];
            vector[0] = 0.01f;   // never all zero
            foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var hash = 2166136261u;
                foreach (var c in word)
                {
                    hash = unchecked((hash ^ c) * 16777619u);
                }

                vector[(int)(hash % Dimensions)] += (hash & 0x8000_0000u) == 0 ? 1 : -1;
            }

            var norm = MathF.Sqrt(vector.Sum(v => v * v));
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] /= norm;
            }

            return vector;
        }
    }
}

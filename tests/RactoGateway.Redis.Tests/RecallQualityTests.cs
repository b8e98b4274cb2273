using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Embeddings;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Recall quality with the real model: 50 personal facts planted in 2,000 turns (4,000 messages) of everyday chatter in
/// one conversation (window of 10 turns), indexed by the summarizer with all-MiniLM-L6-v2 into a Garnet vector set, then
/// 50 questions asked with <see cref="ChatMemoryRecall.RecallAsync"/> (top 5). recall@5 is the share of questions whose
/// fact message is among the five returned. The same messages ranked by a BM25 keyword index (in the test) give the
/// baseline; exact (brute-force) cosine over the same embeddings shows what the server's graph index loses, if anything.
/// Figures go to the test output and to <c>$CHATMEM_TEST_REPORT</c> (scripts/test.sh prints it).
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class RecallQualityTests(ITestOutputHelper output)
{
    private const int Turns = 2000;
    private const int MaxTurns = 10;
    private const int Top = 5;
    private const int Seed = 20261126;

    /// <summary>The failing floor for MiniLM's recall@5. Measured: 0.88 on Garnet 2.2.8 (the same as exact cosine over
    /// the same vectors); the keyword baseline 0.34. The margin is for another model build (the float16 weights move vectors by 1e-4) or server build.</summary>
    private const double Floor = 0.80;

    [Fact]
    public async Task MiniLM_recalls_planted_facts_among_4000_messages_far_better_than_keywords()
    {
        var (messages, factPositions) = RecallQualityCorpus.Conversation(Turns, lastFactTurn: Turns - (2 * MaxTurns), Seed);
        Assert.Equal(Turns * 2, messages.Count);
        Assert.Equal(RecallQualityCorpus.Facts.Length, factPositions.Distinct().Count());

        using var minilm = new MiniLMEmbeddingGenerator();
        var recording = new RecordingGenerator(minilm);
        var bed = await TestBed.CreateAsync("garnet-vector", c =>
        {
            c.MaxTurns = MaxTurns;
            c.Summarize = true;
        }, features: new ChatMemoryFeatures().AddRecall(recording));
        await using var _ = bed;
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();
        var model = new StrictChatClient { Responder = (_, _, _) => new ChatResponse(new ChatMessage(ChatRole.Assistant, "The user chatted about many things.")) };
        var summarizer = new ChatMemorySummarizer(bed.Memory, model, new ChatMemorySummarizerOptions { MaxMessagesPerCall = 200 });

        // Append as a chat would, summarizing (and so indexing) every 100 turns, then until nothing is pending.
        var clock = Stopwatch.StartNew();
        var indexing = TimeSpan.Zero;
        for (var i = 0; i < messages.Count; i++)
        {
            await bed.Memory.AppendAsync("c", messages[i].Role, messages[i].Content);
            if ((i + 1) % 200 == 0)
            {
                var started = clock.Elapsed;
                await summarizer.SummarizePendingAsync("c");
                indexing += clock.Elapsed - started;
            }
        }

        var last = clock.Elapsed;
        await summarizer.SummarizePendingAsync("c");
        indexing += clock.Elapsed - last;
        Assert.Equal(0, await summarizer.SummarizePendingAsync("c"));
        var evicted = messages.Count - (2 * MaxTurns);
        Assert.Equal(evicted, (long)await bed.Raw.ExecuteAsync("VCARD", $"{bed.Config.KeyPrefix}#recall:c"));
        var fill = clock.Elapsed;

        // The questions: through the library (embedding + VSIM), and the query embedding alone, timed apart.
        var hits = 0;
        var misses = new List<string>();
        clock.Restart();
        for (var f = 0; f < factPositions.Length; f++)
        {
            var found = await recall.RecallAsync("c", RecallQualityCorpus.Facts[f].Question, top: Top);
            if (found.Any(m => m.Position == factPositions[f]))
            {
                hits++;
            }
            else
            {
                misses.Add($"'{RecallQualityCorpus.Facts[f].Question}' -> {string.Join(" | ", found.Select(m => m.Message.Content))}");
            }
        }

        var recallTime = clock.Elapsed;
        clock.Restart();
        foreach (var fact in RecallQualityCorpus.Facts)
        {
            await minilm.GenerateAsync([fact.Question]);
        }

        var embedTime = clock.Elapsed;
        var graph = (double)hits / factPositions.Length;
        var exact = ExactRecallAtTop(recording, messages, evicted, factPositions);
        var keyword = KeywordRecallAtTop(messages, evicted, factPositions);

        var line = string.Create(CultureInfo.InvariantCulture,
            $"recall@5: minilm {graph:F2}, keyword {keyword:F2} ({RecallQualityCorpus.Facts.Length} facts, {messages.Count:N0} messages)");
        output.WriteLine(line);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"exact cosine over the same vectors: {exact:F2}; fill + index {fill.TotalSeconds:F1} s (summarize/index {indexing.TotalSeconds:F1} s); " +
            $"50 recalls {recallTime.TotalMilliseconds:F0} ms, of which query embedding alone {embedTime.TotalMilliseconds:F0} ms; load {File.ReadAllText("/proc/loadavg").Trim()}"));
        foreach (var miss in misses)
        {
            output.WriteLine("missed: " + miss);
        }

        output.WriteLine($"distinct messages: {messages.Select(m => m.Content).Distinct().Count()}");
        if (Environment.GetEnvironmentVariable("CHATMEM_RECALL_EXPERIMENT") is "1")
        {
            await ExperimentAsync(bed, recording, messages, evicted, factPositions);
        }

        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_REPORT") is { Length: > 0 } report)
        {
            await File.AppendAllTextAsync(report, line + Environment.NewLine);
        }

        Assert.True(graph >= Floor, $"{line}: below the floor {Floor:F2}");
        Assert.True(graph > keyword, $"{line}: the embeddings do not beat keywords");
    }

    private async Task ExperimentAsync(TestBed bed, RecordingGenerator recording, List<(string Role, string Content)> messages, int evicted, int[] factPositions)
    {
        static byte[] Blob(ReadOnlyMemory<float> v)
        {
            var bytes = new byte[v.Length * 4];
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.Span).CopyTo(bytes);
            return bytes;
        }

        string[][] variants = [[], ["NOQUANT"], ["M", "32"], ["M", "64"], ["EF", "400"], ["NOQUANT", "M", "32"], ["M", "32", "EF", "400"]];
        foreach (var variant in variants)
        {
            var key = (StackExchange.Redis.RedisKey)$"{bed.Config.KeyPrefix}#exp:{string.Join('-', variant)}";
            var clock = Stopwatch.StartNew();
            try
            {
                for (var start = 0; start < evicted; start += 256)
                {
                    var tasks = Enumerable.Range(start, Math.Min(256, evicted - start)).Select(p =>
                    {
                        object[] args = [key, "FP32", Blob(recording.Vectors[messages[p].Content]), p.ToString(CultureInfo.InvariantCulture), .. variant];
                        return bed.Raw.ExecuteAsync("VADD", args);
                    }).ToArray();
                    await Task.WhenAll(tasks);
                }
            }
            catch (Exception ex)
            {
                output.WriteLine($"VADD {string.Join(' ', variant)}: {ex.Message}");
                continue;
            }

            var addTime = clock.Elapsed;
            foreach (var search in new[] { Array.Empty<string>(), ["EF", "200"], ["EF", "500"], ["EF", "1000"], ["TRUTH"] })
            {
                var hits = 0;
                clock.Restart();
                try
                {
                    for (var f = 0; f < factPositions.Length; f++)
                    {
                        object[] args = [key, "FP32", Blob(recording.Vectors[RecallQualityCorpus.Facts[f].Question]), "COUNT", "5", .. search];
                        var found = (StackExchange.Redis.RedisResult[])(await bed.Raw.ExecuteAsync("VSIM", args))!;
                        hits += found.Any(e => (string)e! == factPositions[f].ToString(CultureInfo.InvariantCulture)) ? 1 : 0;
                    }
                }
                catch (Exception ex)
                {
                    output.WriteLine($"VSIM {string.Join(' ', search)} on {string.Join(' ', variant)}: {ex.Message}");
                    continue;
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"VADD [{string.Join(' ', variant)}] ({addTime.TotalSeconds:F1} s) VSIM [{string.Join(' ', search)}]: recall@5 {(double)hits / factPositions.Length:F2}, 50 VSIM {clock.Elapsed.TotalMilliseconds:F0} ms"));
            }

            await bed.Raw.KeyDeleteAsync(key);
        }
    }

    /// <summary>recall@5 of exact cosine (dot products of unit vectors) over the vectors the library stored.</summary>
    private static double ExactRecallAtTop(RecordingGenerator recording, List<(string Role, string Content)> messages, int evicted, int[] factPositions)
    {
        var hits = 0;
        for (var f = 0; f < factPositions.Length; f++)
        {
            var query = recording.Vectors[RecallQualityCorpus.Facts[f].Question];
            var best = Enumerable.Range(0, evicted)
                .OrderByDescending(p => Dot(query, recording.Vectors[messages[p].Content]))
                .Take(Top);
            hits += best.Contains(factPositions[f]) ? 1 : 0;
        }

        return (double)hits / factPositions.Length;
    }

    /// <summary>recall@5 of BM25 (k1 1.2, b 0.75; lower-cased words, English stop words dropped, a plural or possessive
    /// "s" cut) over the same evicted messages.</summary>
    private static double KeywordRecallAtTop(List<(string Role, string Content)> messages, int evicted, int[] factPositions)
    {
        var documents = messages.Take(evicted).Select(m => Terms(m.Content)).ToArray();
        var frequency = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var term in documents.SelectMany(d => d.Distinct()))
        {
            frequency[term] = frequency.GetValueOrDefault(term) + 1;
        }

        var averageLength = documents.Average(d => d.Length);
        var hits = 0;
        for (var f = 0; f < factPositions.Length; f++)
        {
            var query = Terms(RecallQualityCorpus.Facts[f].Question).Distinct().ToArray();
            var best = Enumerable.Range(0, evicted)
                .Select(p => (Position: p, Score: Bm25(query, documents[p], frequency, documents.Length, averageLength)))
                .Where(s => s.Score > 0)
                .OrderByDescending(s => s.Score)
                .ThenBy(s => s.Position)
                .Take(Top);
            hits += best.Any(s => s.Position == factPositions[f]) ? 1 : 0;
        }

        return (double)hits / factPositions.Length;
    }

    private static double Bm25(string[] query, string[] document, Dictionary<string, int> frequency, int count, double averageLength)
    {
        const double K1 = 1.2, B = 0.75;
        var score = 0.0;
        foreach (var term in query)
        {
            var tf = document.Count(t => t == term);
            if (tf == 0)
            {
                continue;
            }

            var df = frequency[term];
            var idf = Math.Log(1 + ((count - df + 0.5) / (df + 0.5)));
            score += idf * tf * (K1 + 1) / (tf + (K1 * (1 - B + (B * document.Length / averageLength))));
        }

        return score;
    }

    private static readonly HashSet<string> StopWords = new(
        ("a an the and or but if of to in on at by for with from as is are was were be been being am do does did have has had " +
         "i me my mine we our you your he him his she her it its they them their what which who whom when where why how " +
         "this that these those there here can could would should will shall may might must not no so than too very just " +
         "any some all each about into over up down out off again then once s t don ve ll re m d").Split(' '), StringComparer.Ordinal);

    private static string[] Terms(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var letter = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (letter && start < 0)
            {
                start = i;
            }
            else if (!letter && start >= 0)
            {
                var word = text[start..i].ToLowerInvariant();
                if (word.Length > 3 && word.EndsWith('s') && !word.EndsWith("ss", StringComparison.Ordinal))
                {
                    word = word[..^1];
                }

                if (!StopWords.Contains(word))
                {
                    words.Add(word);
                }

                start = -1;
            }
        }

        return [.. words];
    }

    private static double Dot(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b)
    {
        var x = a.Span;
        var y = b.Span;
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>Passes every call to the model and keeps each text's vector (for the exact comparison).</summary>
    private sealed class RecordingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public ConcurrentDictionary<string, ReadOnlyMemory<float>> Vectors { get; } = new(StringComparer.Ordinal);

        public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var texts = values.ToArray();
            var result = await base.GenerateAsync(texts, options, cancellationToken);
            for (var i = 0; i < texts.Length; i++)
            {
                Vectors[texts[i]] = result[i].Vector;
            }

            return result;
        }
    }
}

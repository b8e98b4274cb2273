using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using RactoGateway.Redis.Embeddings;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Embeddings.Tests;

/// <summary>One generator for the class: the model loads once (45 MB read, well under a second).</summary>
public sealed class GeneratorFixture : IDisposable
{
    public MiniLMEmbeddingGenerator Generator { get; } = new();

    public void Dispose() => Generator.Dispose();
}

/// <summary>The real all-MiniLM-L6-v2 from the package, offline: shapes, geometry, ranking, batching, errors. No timing.</summary>
public sealed class MiniLMEmbeddingGeneratorTests(GeneratorFixture fixture, ITestOutputHelper output) : IClassFixture<GeneratorFixture>
{
    private const float Tolerance = 1e-5f;

    private readonly MiniLMEmbeddingGenerator _generator = fixture.Generator;

    private static readonly string[] Facts =
    [
        "The weather in Paris is mild in spring.",
        "I work as a software engineer in a small team.",
        "Our quarterly revenue grew by ten percent.",
        "My dog is called Biscuit.",
        "She plays the violin in an orchestra.",
        "The train to Berlin leaves at nine.",
    ];

    [Fact]
    public async Task Every_vector_has_384_dimensions_and_unit_length()
    {
        var embeddings = await _generator.GenerateAsync([.. Facts, "", "   ", "a", "Ünïcødé and emoji 🐕 are fine."]);

        Assert.Equal(Facts.Length + 4, embeddings.Count);
        foreach (var embedding in embeddings)
        {
            Assert.Equal(MiniLMEmbeddingGenerator.Dimensions, embedding.Vector.Length);
            Assert.Equal(384, embedding.Dimensions);
            Assert.Equal(1.0, Math.Sqrt(Dot(embedding.Vector.Span, embedding.Vector.Span)), 5);
            Assert.Equal(MiniLMEmbeddingGenerator.ModelId, embedding.ModelId);
            Assert.NotNull(embedding.CreatedAt);
        }
    }

    [Fact]
    public async Task The_same_text_twice_gives_the_same_vector()
    {
        var first = await _generator.GenerateVectorAsync("What did I say my dog's name was?");
        var second = await _generator.GenerateVectorAsync("What did I say my dog's name was?");
        var other = await _generator.GenerateVectorAsync("What did I say my cat's name was?");

        Assert.Equal(first.ToArray(), second.ToArray());
        Assert.NotEqual(first.ToArray(), other.ToArray());
    }

    [Fact]
    public async Task The_dog_question_ranks_the_Biscuit_sentence_first_by_a_clear_margin()
    {
        var query = await _generator.GenerateVectorAsync("What is my dog's name?");
        var facts = await _generator.GenerateAsync(Facts);

        // Unit vectors: the dot product is the cosine.
        var ranked = Facts.Zip(facts, (text, e) => (Text: text, Cosine: Dot(query.Span, e.Vector.Span)))
            .OrderByDescending(x => x.Cosine).ToArray();
        foreach (var (text, cosine) in ranked)
        {
            output.WriteLine($"{cosine,7:F3}  {text}");
        }

        var line = $"embeddings: \"What is my dog's name?\" -> \"{ranked[0].Text}\" cosine {ranked[0].Cosine:F2}, " +
            $"next \"{ranked[1].Text}\" {ranked[1].Cosine:F2} (margin {ranked[0].Cosine - ranked[1].Cosine:F2})";
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_REPORT") is { Length: > 0 } report)
        {
            await File.AppendAllTextAsync(report, line + Environment.NewLine);
        }

        Assert.Equal("My dog is called Biscuit.", ranked[0].Text);
        Assert.True(ranked[0].Cosine > 0.5, $"the answer's cosine is only {ranked[0].Cosine:F3}");
        Assert.True(ranked[0].Cosine - ranked[1].Cosine > 0.3, $"margin over the runner-up is only {ranked[0].Cosine - ranked[1].Cosine:F3}");
    }

    [Fact]
    public async Task A_batch_of_100_returns_100_vectors_in_order_each_equal_to_the_text_embedded_alone()
    {
        // Different lengths, run on several cores at once.
        var texts = Enumerable.Range(0, 100)
            .Select(i => $"Sentence {i}: " + string.Join(' ', Enumerable.Repeat(Facts[i % Facts.Length], 1 + i % 4)))
            .ToArray();

        var batch = await _generator.GenerateAsync(texts);

        Assert.Equal(100, batch.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = await _generator.GenerateVectorAsync(texts[i]);
            var diff = MaxAbsDifference(alone.Span, batch[i].Vector.Span);
            Assert.True(diff < Tolerance, $"text {i}: batched and alone differ by {diff}");
        }
    }

    [Fact]
    public async Task Long_text_is_cut_at_512_word_pieces_only_its_beginning_counts()
    {
        // "cat dog cat dog ...": one word piece per word, plus [CLS] and [SEP]. 400 words + 5 fit in 512 (not in 256).
        static string Words(int count) => string.Join(' ', Enumerable.Range(0, count).Select(i => i % 2 == 0 ? "cat" : "dog"));

        var vectors = await _generator.GenerateAsync([
            Words(600) + " my dog is called biscuit",
            Words(600) + " the train leaves at nine",
            Words(400) + " my dog is called biscuit",
            Words(400) + " the train leaves at nine",
        ]);

        foreach (var embedding in vectors)
        {
            Assert.Equal(1.0, Math.Sqrt(Dot(embedding.Vector.Span, embedding.Vector.Span)), 5);
        }

        Assert.True(MaxAbsDifference(vectors[0].Vector.Span, vectors[1].Vector.Span) < Tolerance, "words past the window changed the vector");
        Assert.True(MaxAbsDifference(vectors[2].Vector.Span, vectors[3].Vector.Span) > 1e-3f, "words inside the window did not count");
    }

    [Fact]
    public async Task Calls_from_many_threads_at_once_give_the_same_vectors_as_one_at_a_time()
    {
        var expected = await _generator.GenerateAsync(Facts);

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Task.Run(() => _generator.GenerateAsync([Facts[i % Facts.Length]]))));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.True(MaxAbsDifference(expected[i % Facts.Length].Vector.Span, results[i][0].Vector.Span) < Tolerance);
        }
    }

    [Fact]
    public async Task An_empty_list_gives_an_empty_result()
    {
        using var fresh = new MiniLMEmbeddingGenerator();   // nothing to embed: the model is never loaded

        Assert.Empty(await fresh.GenerateAsync([]));
        Assert.Empty(await _generator.GenerateAsync(Array.Empty<string>()));
    }

    [Fact]
    public async Task A_cancelled_token_throws_OperationCanceledException()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _generator.GenerateAsync(Facts, cancellationToken: cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _generator.GenerateAsync([], cancellationToken: cts.Token));
    }

    [Fact]
    public async Task Cancelling_during_a_long_call_stops_it_with_OperationCanceledException()
    {
        // Seconds of work (200 texts of about 250 word pieces); cancelled well before it could end, between two layers
        // of a text or before a text starts: either way an OperationCanceledException.
        var texts = Enumerable.Range(0, 200).Select(i => $"{i} " + string.Join(' ', Enumerable.Repeat(Facts[i % Facts.Length], 30))).ToArray();
        await _generator.GenerateAsync(["load the model first"]);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _generator.GenerateAsync(texts, cancellationToken: cts.Token));
        output.WriteLine($"{cancelled.GetType().Name}, inner {cancelled.InnerException?.GetType().Name ?? "none"}: {cancelled.InnerException?.Message}");

        Assert.Single(await _generator.GenerateAsync(["still works"]));
    }

    [Fact]
    public async Task Invalid_input_throws_ArgumentException_naming_the_parameter_before_any_work()
    {
        var none = await Assert.ThrowsAsync<ArgumentNullException>(() => _generator.GenerateAsync(null!));
        Assert.Equal("values", none.ParamName);

        var element = await Assert.ThrowsAsync<ArgumentException>(() => _generator.GenerateAsync(["a", null!, "c"]));
        Assert.Equal("values", element.ParamName);
        Assert.Contains("values[1]", element.Message, StringComparison.Ordinal);

        var dimensions = await Assert.ThrowsAsync<ArgumentException>(() =>
            _generator.GenerateAsync(["a"], new EmbeddingGenerationOptions { Dimensions = 512 }));
        Assert.Equal("options", dimensions.ParamName);

        Assert.Single(await _generator.GenerateAsync(["a"], new EmbeddingGenerationOptions { Dimensions = 384, ModelId = "anything" }));
    }

    [Fact]
    public void GetService_returns_the_metadata_and_the_generator_itself()
    {
        var metadata = _generator.GetService<EmbeddingGeneratorMetadata>();

        Assert.NotNull(metadata);
        Assert.Equal("ractogateway-minilm", metadata.ProviderName);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", metadata.DefaultModelId);
        Assert.Equal(384, metadata.DefaultModelDimensions);
        Assert.Null(metadata.ProviderUri);
        Assert.Same(_generator, _generator.GetService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Same(_generator, _generator.GetService<MiniLMEmbeddingGenerator>());
        Assert.Null(_generator.GetService<EmbeddingGeneratorMetadata>(serviceKey: "key"));
        Assert.Null(_generator.GetService<string>());
        Assert.Throws<ArgumentNullException>(() => _generator.GetService(null!));
    }

    [Fact]
    public async Task After_Dispose_calls_throw_ObjectDisposedException_and_Dispose_is_idempotent()
    {
        var generator = new MiniLMEmbeddingGenerator();
        generator.Dispose();
        generator.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => generator.GenerateAsync(["a"]));
    }

    [Fact]
    public async Task AddMiniLMEmbeddingGenerator_registers_one_singleton_the_container_disposes()
    {
        var services = new ServiceCollection().AddMiniLMEmbeddingGenerator();
        MiniLMEmbeddingGenerator generator;
        using (var provider = services.BuildServiceProvider())
        {
            var resolved = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
            Assert.Same(resolved, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
            generator = Assert.IsType<MiniLMEmbeddingGenerator>(resolved);
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => generator.GenerateAsync(["a"]));
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }

        return max;
    }
}

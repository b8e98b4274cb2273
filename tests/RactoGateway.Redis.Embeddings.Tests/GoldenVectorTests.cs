using Microsoft.Extensions.AI;
using System.Runtime.InteropServices;
using System.Text.Json;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Embeddings.Tests;

/// <summary>
/// The managed encoder against the published float32 model run by ONNX Runtime (minilm-golden.json, written by the
/// encoder this package used before, with the texts as Hugging Face's tokenizer sees them where that encoder's own
/// tokenizer differed): the same vectors, to the precision the float16 weights allow.
/// </summary>
public sealed class GoldenVectorTests(GeneratorFixture fixture, ITestOutputHelper output) : IClassFixture<GeneratorFixture>
{
    // Measured: at most 1.3e-4 in a component (cosine above 0.999999) over these cases; a wrong layer, head or
    // tokenization moves components by 0.05 or more (cosine 0.95 or less).
    private const float ComponentTolerance = 5e-4f;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load())
        {
            data.Add(c.Key);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_vector_is_the_float32_models_within_float16_precision(string label)
    {
        var (text, expected) = Load()[label];

        var actual = (await fixture.Generator.GenerateVectorAsync(text)).ToArray();

        var maxDifference = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
        var cosine = actual.Zip(expected, (a, e) => (double)a * e).Sum();
        output.WriteLine($"max component difference {maxDifference:E2}, cosine {cosine:F7}");
        Assert.True(maxDifference < ComponentTolerance, $"{label}: a component differs by {maxDifference}");
        Assert.True(cosine > 0.9999, $"{label}: cosine {cosine}");
    }

    // Keyed by a printable label (the first 40 characters, escaped), since xunit shows theory arguments.
    private static Dictionary<string, (string Text, float[] Vector)> Load()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "minilm-golden.json")));
        var cases = new Dictionary<string, (string, float[])>();
        foreach (var c in json.RootElement.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            var vector = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(c.GetProperty("vector").GetString()!)).ToArray();
            Assert.Equal(MiniLMEmbeddingGenerator.Dimensions, vector.Length);
            var label = $"{cases.Count:00} {JsonEncodedText.Encode(text[..Math.Min(40, text.Length)])}";
            cases.Add(label, (text, vector));
        }

        return cases;
    }
}

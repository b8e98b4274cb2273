using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace RactoGateway.Redis.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 computed in managed code: BERT's WordPiece tokenizer, six transformer layers, mean pooling.
/// Immutable once loaded, so any number of threads can embed at once (each call has its own scratch buffers).
/// </summary>
/// <remarks>
/// The weights come from the assembly's <c>minilm-l6-v2.weights</c> resource, written at build time by
/// tools/MiniLMConverter from the published ONNX model: a header ("RGMINILM", format version 1, tensor count), then per
/// tensor its name (length-prefixed UTF-8), element type (1 float32, 2 float16), rank, dimensions and little-endian
/// data. Matrices are float16 on disk and widened to float32 here once; all arithmetic is float32, as ONNX Runtime's.
/// </remarks>
internal sealed class MiniLMModel
{
    public const int Hidden = 384;
    public const int MaxTokens = 512;
    private const int Heads = 12;
    private const int HeadSize = Hidden / Heads;
    private const int Intermediate = 1536;
    private const float LayerNormEpsilon = 1e-12f;

    private readonly BertWordPieceTokenizer _tokenizer;
    private readonly float[] _wordEmbeddings;       // [vocab, Hidden]
    private readonly float[] _positionEmbeddings;   // [MaxTokens, Hidden]
    private readonly float[] _tokenType0;           // [Hidden]: every token is of sentence A
    private readonly float[] _embeddingNormWeight;
    private readonly float[] _embeddingNormBias;
    private readonly Layer[] _layers;

    private MiniLMModel(BertWordPieceTokenizer tokenizer, Dictionary<string, (int[] Dims, float[] Data)> t)
    {
        _tokenizer = tokenizer;
        float[] Take(string name, params int[] dims)
        {
            if (!t.Remove(name, out var tensor))
            {
                throw new InvalidDataException($"The MiniLM weights have no tensor '{name}'.");
            }

            if (!tensor.Dims.SequenceEqual(dims))
            {
                throw new InvalidDataException($"The MiniLM tensor '{name}' is [{string.Join(", ", tensor.Dims)}], not [{string.Join(", ", dims)}].");
            }

            return tensor.Data;
        }

        _wordEmbeddings = Take("embeddings.word_embeddings.weight", tokenizer.VocabularySize, Hidden);
        _positionEmbeddings = Take("embeddings.position_embeddings.weight", MaxTokens, Hidden);
        _tokenType0 = Take("embeddings.token_type_embeddings.weight", 2, Hidden)[..Hidden];
        _embeddingNormWeight = Take("embeddings.LayerNorm.weight", Hidden);
        _embeddingNormBias = Take("embeddings.LayerNorm.bias", Hidden);
        _layers = new Layer[6];
        for (var i = 0; i < _layers.Length; i++)
        {
            var p = $"encoder.layer.{i}.";
            _layers[i] = new Layer(
                Take(p + "attention.self.query.weight", Hidden, Hidden), Take(p + "attention.self.query.bias", Hidden),
                Take(p + "attention.self.key.weight", Hidden, Hidden), Take(p + "attention.self.key.bias", Hidden),
                Take(p + "attention.self.value.weight", Hidden, Hidden), Take(p + "attention.self.value.bias", Hidden),
                Take(p + "attention.output.dense.weight", Hidden, Hidden), Take(p + "attention.output.dense.bias", Hidden),
                Take(p + "attention.output.LayerNorm.weight", Hidden), Take(p + "attention.output.LayerNorm.bias", Hidden),
                Take(p + "intermediate.dense.weight", Intermediate, Hidden), Take(p + "intermediate.dense.bias", Intermediate),
                Take(p + "output.dense.weight", Hidden, Intermediate), Take(p + "output.dense.bias", Hidden),
                Take(p + "output.LayerNorm.weight", Hidden), Take(p + "output.LayerNorm.bias", Hidden));
        }

        if (t.Count != 0)
        {
            throw new InvalidDataException($"The MiniLM weights have tensors this encoder does not know: {string.Join(", ", t.Keys)}.");
        }
    }

    /// <summary>Loads the model embedded in this assembly (about 45 MB read, 90 MB of floats kept).</summary>
    public static MiniLMModel Load()
    {
        var assembly = typeof(MiniLMModel).Assembly;
        using var weights = assembly.GetManifestResourceStream("RactoGateway.Redis.Embeddings.minilm-l6-v2.weights")
            ?? throw new InvalidDataException("The MiniLM weights are missing from the assembly.");
        using var vocabulary = assembly.GetManifestResourceStream("RactoGateway.Redis.Embeddings.minilm-l6-v2.vocab.txt")
            ?? throw new InvalidDataException("The MiniLM vocabulary is missing from the assembly.");

        return new MiniLMModel(new BertWordPieceTokenizer(vocabulary), ReadTensors(weights));
    }

    /// <summary>The mean of the last layer's token states (not yet of unit length).</summary>
    public float[] Embed(string text, CancellationToken cancellationToken)
    {
        var ids = _tokenizer.Encode(text, MaxTokens);
        var n = ids.Count;
        var x = new float[n * Hidden];
        for (var t = 0; t < n; t++)
        {
            var row = x.AsSpan(t * Hidden, Hidden);
            var word = _wordEmbeddings.AsSpan(ids[t] * Hidden, Hidden);
            var position = _positionEmbeddings.AsSpan(t * Hidden, Hidden);
            for (var i = 0; i < Hidden; i++)
            {
                row[i] = word[i] + _tokenType0[i] + position[i];
            }

            LayerNorm(row, _embeddingNormWeight, _embeddingNormBias);
        }

        var scratch = new Scratch(n);
        foreach (var layer in _layers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            layer.Forward(x, n, scratch);
        }

        var mean = new float[Hidden];
        for (var t = 0; t < n; t++)
        {
            Add(mean, x.AsSpan(t * Hidden, Hidden));
        }

        for (var i = 0; i < Hidden; i++)
        {
            mean[i] /= n;
        }

        return mean;
    }

    private static Dictionary<string, (int[] Dims, float[] Data)> ReadTensors(Stream stream)
    {
        using var reader = new BinaryReader(stream);
        if (!reader.ReadBytes(8).AsSpan().SequenceEqual("RGMINILM"u8) || reader.ReadInt32() != 1)
        {
            throw new InvalidDataException("The MiniLM weights are not in format 1.");
        }

        var count = reader.ReadInt32();
        var tensors = new Dictionary<string, (int[], float[])>(count);
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var type = reader.ReadInt32();
            var dims = new int[reader.ReadInt32()];
            for (var d = 0; d < dims.Length; d++)
            {
                dims[d] = reader.ReadInt32();
            }

            var length = dims.Aggregate(1, (a, b) => a * b);
            var data = new float[length];
            if (type == 1)
            {
                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(data.AsSpan()), MemoryMarshal.Cast<float, int>(data.AsSpan()));
                }
            }
            else if (type == 2)
            {
                var halves = new byte[length * 2];
                reader.BaseStream.ReadExactly(halves);
                for (var j = 0; j < length; j++)
                {
                    data[j] = (float)BinaryPrimitives.ReadHalfLittleEndian(halves.AsSpan(j * 2, 2));
                }
            }
            else
            {
                throw new InvalidDataException($"The MiniLM tensor '{name}' has element type {type}.");
            }

            tensors.Add(name, (dims, data));
        }

        return tensors;
    }

    /// <summary>Buffers for one text's pass, reused by every layer.</summary>
    private sealed class Scratch(int tokens)
    {
        public float[] Query { get; } = new float[tokens * Hidden];
        public float[] Key { get; } = new float[tokens * Hidden];
        public float[] Value { get; } = new float[tokens * Hidden];
        public float[] Context { get; } = new float[tokens * Hidden];
        public float[] Projected { get; } = new float[tokens * Hidden];
        public float[] Wide { get; } = new float[tokens * Intermediate];
        public float[] Scores { get; } = new float[tokens];
    }

    private sealed record Layer(
        float[] QueryWeight, float[] QueryBias, float[] KeyWeight, float[] KeyBias, float[] ValueWeight, float[] ValueBias,
        float[] OutputWeight, float[] OutputBias, float[] AttentionNormWeight, float[] AttentionNormBias,
        float[] IntermediateWeight, float[] IntermediateBias, float[] FinalWeight, float[] FinalBias,
        float[] FinalNormWeight, float[] FinalNormBias)
    {
        public void Forward(float[] x, int n, Scratch s)
        {
            Linear(x, n, Hidden, QueryWeight, QueryBias, s.Query, Hidden);
            Linear(x, n, Hidden, KeyWeight, KeyBias, s.Key, Hidden);
            Linear(x, n, Hidden, ValueWeight, ValueBias, s.Value, Hidden);
            Attend(s, n);
            Linear(s.Context, n, Hidden, OutputWeight, OutputBias, s.Projected, Hidden);
            for (var t = 0; t < n; t++)
            {
                var row = x.AsSpan(t * Hidden, Hidden);
                Add(row, s.Projected.AsSpan(t * Hidden, Hidden));
                LayerNorm(row, AttentionNormWeight, AttentionNormBias);
            }

            Linear(x, n, Hidden, IntermediateWeight, IntermediateBias, s.Wide, Intermediate);
            Gelu(s.Wide.AsSpan(0, n * Intermediate));
            Linear(s.Wide, n, Intermediate, FinalWeight, FinalBias, s.Projected, Hidden);
            for (var t = 0; t < n; t++)
            {
                var row = x.AsSpan(t * Hidden, Hidden);
                Add(row, s.Projected.AsSpan(t * Hidden, Hidden));
                LayerNorm(row, FinalNormWeight, FinalNormBias);
            }
        }

        // Scaled dot-product attention over all n tokens (one text, no padding, so no mask), head by head.
        private static void Attend(Scratch s, int n)
        {
            var scale = 1 / MathF.Sqrt(HeadSize);
            var scores = s.Scores.AsSpan(0, n);
            for (var h = 0; h < Heads; h++)
            {
                var offset = h * HeadSize;
                for (var i = 0; i < n; i++)
                {
                    var q = s.Query.AsSpan((i * Hidden) + offset, HeadSize);
                    var max = float.NegativeInfinity;
                    for (var j = 0; j < n; j++)
                    {
                        scores[j] = Dot(q, s.Key.AsSpan((j * Hidden) + offset, HeadSize)) * scale;
                        max = MathF.Max(max, scores[j]);
                    }

                    var sum = 0f;
                    for (var j = 0; j < n; j++)
                    {
                        scores[j] = MathF.Exp(scores[j] - max);
                        sum += scores[j];
                    }

                    var context = s.Context.AsSpan((i * Hidden) + offset, HeadSize);
                    context.Clear();
                    for (var j = 0; j < n; j++)
                    {
                        MultiplyAdd(context, s.Value.AsSpan((j * Hidden) + offset, HeadSize), scores[j] / sum);
                    }
                }
            }
        }
    }

    /// <summary>y[t, o] = bias[o] + x[t, :] · weight[o, :] for t &lt; rows: weight is [outputs, inputs], row-major.</summary>
    private static void Linear(float[] x, int rows, int inputs, float[] weight, float[] bias, float[] y, int outputs)
    {
        for (var o = 0; o < outputs; o++)
        {
            var w = weight.AsSpan(o * inputs, inputs);
            var t = 0;
            // Four rows at a time: each weight vector loaded once feeds four products.
            for (; t + 4 <= rows; t += 4)
            {
                Dot4(w, x.AsSpan(t * inputs, 4 * inputs), inputs, out var d0, out var d1, out var d2, out var d3);
                y[(t * outputs) + o] = d0 + bias[o];
                y[((t + 1) * outputs) + o] = d1 + bias[o];
                y[((t + 2) * outputs) + o] = d2 + bias[o];
                y[((t + 3) * outputs) + o] = d3 + bias[o];
            }

            for (; t < rows; t++)
            {
                y[(t * outputs) + o] = Dot(w, x.AsSpan(t * inputs, inputs)) + bias[o];
            }
        }
    }

    private static void Dot4(ReadOnlySpan<float> w, ReadOnlySpan<float> x, int length, out float d0, out float d1, out float d2, out float d3)
    {
        var wv = MemoryMarshal.Cast<float, Vector<float>>(w);
        var x0 = MemoryMarshal.Cast<float, Vector<float>>(x[..length]);
        var x1 = MemoryMarshal.Cast<float, Vector<float>>(x.Slice(length, length));
        var x2 = MemoryMarshal.Cast<float, Vector<float>>(x.Slice(2 * length, length));
        var x3 = MemoryMarshal.Cast<float, Vector<float>>(x.Slice(3 * length, length));
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var i = 0; i < wv.Length; i++)
        {
            var v = wv[i];
            a0 = Vector.FusedMultiplyAdd(v, x0[i], a0);
            a1 = Vector.FusedMultiplyAdd(v, x1[i], a1);
            a2 = Vector.FusedMultiplyAdd(v, x2[i], a2);
            a3 = Vector.FusedMultiplyAdd(v, x3[i], a3);
        }

        (d0, d1, d2, d3) = (Vector.Sum(a0), Vector.Sum(a1), Vector.Sum(a2), Vector.Sum(a3));
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var av = MemoryMarshal.Cast<float, Vector<float>>(a);
        var bv = MemoryMarshal.Cast<float, Vector<float>>(b);
        var acc = Vector<float>.Zero;
        for (var i = 0; i < av.Length; i++)
        {
            acc = Vector.FusedMultiplyAdd(av[i], bv[i], acc);
        }

        return Vector.Sum(acc);
    }

    private static void MultiplyAdd(Span<float> y, ReadOnlySpan<float> x, float factor)
    {
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var f = new Vector<float>(factor);
        for (var i = 0; i < yv.Length; i++)
        {
            yv[i] = Vector.FusedMultiplyAdd(xv[i], f, yv[i]);
        }
    }

    private static void Add(Span<float> y, ReadOnlySpan<float> x)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] += x[i];
        }
    }

    private static void LayerNorm(Span<float> row, float[] weight, float[] bias)
    {
        var mean = 0f;
        foreach (var v in row)
        {
            mean += v;
        }

        mean /= row.Length;
        var variance = 0f;
        foreach (var v in row)
        {
            variance += (v - mean) * (v - mean);
        }

        var scale = 1 / MathF.Sqrt((variance / row.Length) + LayerNormEpsilon);
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = ((row[i] - mean) * scale * weight[i]) + bias[i];
        }
    }

    // BERT's exact GELU, x·Φ(x) = x/2 · (1 + erf(x/√2)).
    private static void Gelu(Span<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var x = values[i];
            values[i] = 0.5f * x * (1 + Erf(x * 0.70710678118654752f));
        }
    }

    // Numerical Recipes' erfc (a Chebyshev fit, relative error under 1.2e-7): below float's resolution where GELU
    // uses it. .NET has no Math.Erf.
    private static readonly double[] ErfcCoefficients =
        [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

    private static float Erf(float x)
    {
        double z = Math.Abs(x);
        var t = 1 / (1 + (0.5 * z));
        var polynomial = 0.0;
        for (var i = ErfcCoefficients.Length - 1; i >= 0; i--)
        {
            polynomial = (polynomial * t) + ErfcCoefficients[i];
        }

        var erfc = t * Math.Exp((-z * z) + polynomial);
        return (float)(x >= 0 ? 1 - erfc : erfc - 1);
    }
}

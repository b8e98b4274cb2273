namespace RactoGateway.Redis;

// Composition: the summarizer, recall and owners a memory is built with (never attached afterwards), and the one way
// adapters reach them, GetService.
public sealed partial class RedisChatMemory
{
    private readonly ChatMemoryFeatures? _features;
    private readonly ChatMemorySummarizer? _summarizer;
    private readonly ChatMemoryRecall? _recall;
    private readonly ChatMemoryOwners? _owners;

    /// <summary>
    /// What this memory is composed with: its <see cref="ChatMemorySummarizer"/> (told of every append that evicts),
    /// <see cref="ChatMemoryRecall"/> and <see cref="ChatMemoryOwners"/> (whose keys <see cref="ClearAsync"/> deletes
    /// too). Set only in the object initializer; each feature is built then, and is got back with
    /// <see cref="GetService"/> (<c>memory.GetService&lt;ChatMemoryRecall&gt;()</c>).
    /// </summary>
    /// <exception cref="ArgumentException">A summarizer or recall is given to a memory without
    /// <see cref="ChatMemoryConfig.Summarize"/>.</exception>
    public ChatMemoryFeatures? Features
    {
        get => _features;
        init
        {
            if (value is null)
            {
                return;
            }

            try
            {
                (_summarizer, _recall, _owners) = value.Compose(this, _config);
            }
            catch
            {
                Dispose();
                throw;
            }

            _features = value;
        }
    }

    /// <summary>The composed recall, which the summarizer indexes each batch into; <see langword="null"/> without one.</summary>
    internal ChatMemoryRecall? Recall => _recall;

    /// <summary>The composed owners, which <see cref="ClearAsync"/> and the summarizer keep up to date; <see langword="null"/> without.</summary>
    internal ChatMemoryOwners? Owners => _owners;

    /// <summary>This memory, its settings (a copy, as <see cref="ChatMemoryConfig"/>), and the features it is composed
    /// with (<see cref="ChatMemorySummarizer"/>, <see cref="ChatMemoryRecall"/>, <see cref="ChatMemoryOwners"/>), so
    /// adapters need not know the type of an <see cref="IChatMemory"/>.</summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">Must be <see langword="null"/>: nothing here is keyed.</param>
    /// <returns>The object, or <see langword="null"/> when there is none of that type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is null.</exception>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(ChatMemoryConfig) ? Config
            : serviceType == typeof(ChatMemorySummarizer) ? _summarizer
            : serviceType == typeof(ChatMemoryRecall) ? _recall
            : serviceType == typeof(ChatMemoryOwners) ? _owners
            : null;
    }
}

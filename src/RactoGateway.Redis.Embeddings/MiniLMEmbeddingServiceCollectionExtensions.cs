using Microsoft.Extensions.AI;
using RactoGateway.Redis.Embeddings;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="MiniLMEmbeddingGenerator"/> with dependency injection.</summary>
public static class MiniLMEmbeddingServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="MiniLMEmbeddingGenerator"/> as the singleton
    /// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of <see cref="string"/> and <see cref="Embedding{T}"/> of
    /// <see cref="float"/>; the container disposes it. A later registration of that service replaces it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddMiniLMEmbeddingGenerator(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>, MiniLMEmbeddingGenerator>();
    }
}

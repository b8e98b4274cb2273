using Microsoft.Extensions.AI;
using RactoGateway.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Composes the registered memory with a <see cref="ChatMemorySummarizer"/>, run by a hosted service.</summary>
public static class ChatMemorySummarizerServiceCollectionExtensions
{
    /// <summary>The configuration section the options bind from: <c>ChatMemory:Summarizer</c>.</summary>
    public const string SectionName = ChatMemoryConfig.SectionName + ":Summarizer";

    /// <summary>
    /// Composes the registered (unkeyed) <see cref="RedisChatMemory"/> with a <see cref="ChatMemorySummarizer"/> and runs
    /// it in a hosted service: the same as <c>AddRedisChatMemory(...).AddSummarizer(configure, chatClientKey)</c> (see
    /// <see cref="ChatMemoryBuilder.AddSummarizer"/>). Options bind from <see cref="SectionName"/>, then
    /// <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="services">The service collection, with the memory registered already.</param>
    /// <param name="configure">Adjusts the options; optional.</param>
    /// <param name="chatClientKey">The key of the summarizing model's <see cref="IChatClient"/>, or <see langword="null"/>
    /// for the unkeyed one.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="InvalidOperationException">No memory is registered without a key, or it has a summarizer already.</exception>
    public static IServiceCollection AddRedisChatMemorySummarizer(
        this IServiceCollection services, Action<ChatMemorySummarizerOptions>? configure = null, object? chatClientKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        new ChatMemoryBuilder(services, null).AddSummarizer(configure, chatClientKey);
        return services;
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RactoGateway.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="ChatMemorySummarizer"/> and the hosted service that runs it in the background.</summary>
public static class ChatMemorySummarizerServiceCollectionExtensions
{
    /// <summary>The configuration section the options bind from: <c>ChatMemory:Summarizer</c>.</summary>
    public const string SectionName = ChatMemoryConfig.SectionName + ":Summarizer";

    /// <summary>
    /// Registers a singleton <see cref="ChatMemorySummarizer"/> for the registered (unkeyed) <see cref="RedisChatMemory"/>,
    /// which must have <see cref="ChatMemoryConfig.Summarize"/> on, and a hosted service that runs
    /// <see cref="ChatMemorySummarizer.RunAsync"/> for the host's life. The summary is written by the
    /// <see cref="IChatReducer"/> registered in the container if there is one, else by the <see cref="IChatClient"/>
    /// registered with <paramref name="chatClientKey"/> (or without a key). Options bind from <see cref="SectionName"/>,
    /// then <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options; optional.</param>
    /// <param name="chatClientKey">The key of the summarizing model's <see cref="IChatClient"/>, or <see langword="null"/>
    /// for the unkeyed one (often a smaller, cheaper model than the chat's own is registered for this).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRedisChatMemorySummarizer(
        this IServiceCollection services, Action<ChatMemorySummarizerOptions>? configure = null, object? chatClientKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ChatMemorySummarizerOptions>().Configure<IServiceProvider>((o, provider) =>
            provider.GetService<IConfiguration>()?.GetSection(SectionName).Bind(o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.GetValidationError() is null, "ChatMemorySummarizerOptions are invalid (see GetValidationError).").ValidateOnStart();
        services.AddSingleton(provider =>
        {
            var memory = provider.GetRequiredService<RedisChatMemory>();
            var settings = provider.GetRequiredService<IOptions<ChatMemorySummarizerOptions>>().Value;
            var logger = provider.GetService<ILogger<ChatMemorySummarizer>>();
            return provider.GetService<IChatReducer>() is { } reducer
                ? new ChatMemorySummarizer(memory, reducer, settings, logger)
                : new ChatMemorySummarizer(
                    memory,
                    chatClientKey is null ? provider.GetRequiredService<IChatClient>() : provider.GetRequiredKeyedService<IChatClient>(chatClientKey),
                    settings,
                    logger);
        });
        services.AddHostedService<SummarizerService>();
        return services;
    }

    /// <summary>Runs the summarizer for the host's life.</summary>
    private sealed class SummarizerService(ChatMemorySummarizer summarizer) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => summarizer.RunAsync(stoppingToken);
    }
}

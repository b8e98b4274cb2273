using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RactoGateway.Redis;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="RedisChatMemory"/> (also as <see cref="IChatMemory"/>) with dependency injection; the
/// <see cref="ChatMemoryBuilder"/> returned composes its summarizer, recall and owners.</summary>
public static class ChatMemoryServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="RedisChatMemory"/>, also resolvable as <see cref="IChatMemory"/>, on the
    /// <see cref="IConnectionMultiplexer"/> already registered. Settings bind from the <c>ChatMemory</c> configuration
    /// section, then <paramref name="configure"/> runs; they are validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the settings after binding; optional.</param>
    /// <returns>A builder that composes the memory's features (<see cref="ChatMemoryBuilder.AddSummarizer"/>,
    /// <see cref="ChatMemoryBuilder.AddRecall"/>); it is also the service collection, for chaining.</returns>
    /// <exception cref="InvalidOperationException">A memory is already registered without a key: register a second one
    /// with <see cref="AddKeyedRedisChatMemory"/>.</exception>
#pragma warning disable RS0026 // The overloads differ in their first, required parameter: never ambiguous (shipped so).
    public static ChatMemoryBuilder AddRedisChatMemory(this IServiceCollection services, Action<ChatMemoryConfig>? configure = null) =>
        AddCore(services, serviceKey: null, redisUrl: null, configure);

    /// <summary>
    /// Registers a singleton <see cref="RedisChatMemory"/> (also as <see cref="IChatMemory"/>) that opens and owns its own
    /// connection to <paramref name="redisUrl"/>. Settings bind from the <c>ChatMemory</c> section, then
    /// <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="redisUrl"><c>redis://</c>, <c>rediss://</c> or a StackExchange.Redis configuration string.</param>
    /// <param name="configure">Adjusts the settings after binding; optional.</param>
    /// <returns>A builder that composes the memory's features (<see cref="ChatMemoryBuilder.AddSummarizer"/>,
    /// <see cref="ChatMemoryBuilder.AddRecall"/>); it is also the service collection, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="redisUrl"/> is empty or malformed.</exception>
    /// <exception cref="InvalidOperationException">A memory is already registered without a key.</exception>
    public static ChatMemoryBuilder AddRedisChatMemory(this IServiceCollection services, string redisUrl, Action<ChatMemoryConfig>? configure = null)
    {
        RedisEndpoint.Parse(redisUrl);
        return AddCore(services, serviceKey: null, redisUrl, configure);
    }
#pragma warning restore RS0026

    /// <summary>
    /// Registers a keyed singleton <see cref="RedisChatMemory"/> (also as a keyed <see cref="IChatMemory"/>), for an
    /// application with more than one memory (another server, prefix or window). Resolve it with
    /// <c>[FromKeyedServices(serviceKey)]</c> or <c>GetRequiredKeyedService</c>. Settings bind from the
    /// <c>ChatMemory:{serviceKey}</c> section, then <paramref name="configure"/> runs; they are validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key, not empty; also the name of its options.</param>
    /// <param name="redisUrl">Its own connection's URL, or <see langword="null"/> for the registered <see cref="IConnectionMultiplexer"/>.</param>
    /// <param name="configure">Adjusts the settings after binding; optional.</param>
    /// <returns>A builder that composes the memory's features (<see cref="ChatMemoryBuilder.AddSummarizer"/>,
    /// <see cref="ChatMemoryBuilder.AddRecall"/>); it is also the service collection, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="serviceKey"/> is empty, or <paramref name="redisUrl"/> is malformed.</exception>
    /// <exception cref="InvalidOperationException">A memory is already registered with this key.</exception>
    public static ChatMemoryBuilder AddKeyedRedisChatMemory(
        this IServiceCollection services, string serviceKey, string? redisUrl = null, Action<ChatMemoryConfig>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceKey);
        if (redisUrl is not null)
        {
            RedisEndpoint.Parse(redisUrl);
        }

        return AddCore(services, serviceKey, redisUrl, configure);
    }

    private static ChatMemoryBuilder AddCore(IServiceCollection services, string? serviceKey, string? redisUrl, Action<ChatMemoryConfig>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);

        // A second registration would otherwise be dropped without a word, and with it its URL and settings.
        if (services.Any(d => d.ServiceType == typeof(RedisChatMemory) && Equals(d.ServiceKey, serviceKey)))
        {
            throw new InvalidOperationException(serviceKey is null
                ? "A RedisChatMemory is already registered; register another one with AddKeyedRedisChatMemory(key, ...)."
                : $"A RedisChatMemory is already registered with the key '{serviceKey}'.");
        }

        var name = serviceKey ?? Options.Options.DefaultName;
        var section = serviceKey is null ? ChatMemoryConfig.SectionName : $"{ChatMemoryConfig.SectionName}:{serviceKey}";
        // Like BindConfiguration, but an application without IConfiguration in its container (a console app with no host)
        // keeps its defaults instead of failing to resolve the memory.
        var options = services.AddOptions<ChatMemoryConfig>(name).Configure<IServiceProvider>((config, provider) =>
            provider.GetService<IConfiguration>()?.GetSection(section).Bind(config));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<ChatMemoryConfig>>(new ChatMemoryConfigValidator(name));

        var registration = new ChatMemoryRegistration(serviceKey);
        services.AddSingleton(registration);

        RedisChatMemory Create(IServiceProvider provider)
        {
            var config = provider.GetRequiredService<IOptionsMonitor<ChatMemoryConfig>>().Get(name);
            var logger = provider.GetService<ILogger<RedisChatMemory>>();
            var features = registration.Compose(provider);
            if (redisUrl is not null)
            {
                return new RedisChatMemory(redisUrl, config, logger) { Features = features };
            }

            var connection = provider.GetService<IConnectionMultiplexer>() ?? throw new InvalidOperationException(
                "AddRedisChatMemory() needs an IConnectionMultiplexer registered in the container; register one, or pass a Redis URL.");
            return new RedisChatMemory(connection, config, logger) { Features = features };
        }

        if (serviceKey is null)
        {
            services.AddSingleton(Create);
            services.AddSingleton<IChatMemory>(provider => provider.GetRequiredService<RedisChatMemory>());
        }
        else
        {
            services.AddKeyedSingleton(serviceKey, (provider, _) => Create(provider));
            services.AddKeyedSingleton<IChatMemory>(serviceKey, (provider, key) => provider.GetRequiredKeyedService<RedisChatMemory>(key));
        }

        return new ChatMemoryBuilder(services, serviceKey);
    }

    /// <summary>Validates the options of one registration with the rules the constructor applies.</summary>
    private sealed class ChatMemoryConfigValidator(string name) : IValidateOptions<ChatMemoryConfig>
    {
        public ValidateOptionsResult Validate(string? optionsName, ChatMemoryConfig options) =>
            optionsName != name ? ValidateOptionsResult.Skip
            : options.GetValidationError() is { } error ? ValidateOptionsResult.Fail(error)
            : ValidateOptionsResult.Success;
    }
}

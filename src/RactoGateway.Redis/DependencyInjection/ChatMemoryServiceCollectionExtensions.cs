using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RactoGateway.Redis;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="RedisChatMemory"/> with dependency injection.</summary>
public static class ChatMemoryServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="RedisChatMemory"/> on the <see cref="IConnectionMultiplexer"/> already registered.
    /// Settings bind from the <c>ChatMemory</c> configuration section, then <paramref name="configure"/> runs;
    /// they are validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the settings after binding; optional.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRedisChatMemory(this IServiceCollection services, Action<ChatMemoryConfig>? configure = null) =>
        AddCore(services, redisUrl: null, configure);

    /// <summary>
    /// Registers a singleton <see cref="RedisChatMemory"/> that opens (and owns) its own connection to <paramref name="redisUrl"/>.
    /// Settings bind from the <c>ChatMemory</c> configuration section, then <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="redisUrl"><c>redis://</c>, <c>rediss://</c> or a StackExchange.Redis configuration string.</param>
    /// <param name="configure">Adjusts the settings after binding; optional.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="redisUrl"/> is empty or malformed.</exception>
    public static IServiceCollection AddRedisChatMemory(this IServiceCollection services, string redisUrl, Action<ChatMemoryConfig>? configure = null)
    {
        RedisEndpoint.Parse(redisUrl);
        return AddCore(services, redisUrl, configure);
    }

    private static IServiceCollection AddCore(IServiceCollection services, string? redisUrl, Action<ChatMemoryConfig>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ChatMemoryConfig>()
            .Configure<IServiceProvider>((config, provider) =>
                provider.GetService<IConfiguration>()?.GetSection(ChatMemoryConfig.SectionName).Bind(config));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChatMemoryConfig>, ChatMemoryConfigValidator>());
        services.TryAddSingleton(provider =>
        {
            var config = provider.GetRequiredService<IOptions<ChatMemoryConfig>>().Value;
            var logger = provider.GetService<ILogger<RedisChatMemory>>();
            if (redisUrl is not null)
            {
                return new RedisChatMemory(redisUrl, config, logger);
            }

            var connection = provider.GetService<IConnectionMultiplexer>() ?? throw new InvalidOperationException(
                "AddRedisChatMemory() needs an IConnectionMultiplexer registered in the container; register one, or call AddRedisChatMemory(redisUrl).");
            return new RedisChatMemory(connection, config, logger);
        });
        return services;
    }

    private sealed class ChatMemoryConfigValidator : IValidateOptions<ChatMemoryConfig>
    {
        public ValidateOptionsResult Validate(string? name, ChatMemoryConfig options) =>
            options.GetValidationError() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
    }
}

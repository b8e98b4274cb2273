using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RactoGateway.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Composes the features of one registered <see cref="RedisChatMemory"/> (keyed or not), which it is built with when
/// first resolved: <c>services.AddRedisChatMemory(...).AddSummarizer(...).AddRecall()</c>. Each feature is then a
/// singleton too (keyed like the memory), and the summarizer runs in a hosted service. It is also the service
/// collection, so registrations chain on as before.
/// </summary>
[SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "A builder that is also the collection, so that existing chains keep compiling.")]
public sealed class ChatMemoryBuilder : IServiceCollection
{
    private readonly ChatMemoryRegistration _registration;

    internal ChatMemoryBuilder(IServiceCollection services, string? serviceKey)
    {
        Services = services;
        ServiceKey = serviceKey;
        _registration = services.Select(d => d.ImplementationInstance).OfType<ChatMemoryRegistration>().LastOrDefault(r => r.Key == serviceKey)
            ?? throw new InvalidOperationException(serviceKey is null
                ? "No RedisChatMemory is registered: call AddRedisChatMemory() first."
                : $"No RedisChatMemory is registered with the key '{serviceKey}': call AddKeyedRedisChatMemory() first.");
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The memory's key; <see langword="null"/> for the unkeyed memory.</summary>
    public string? ServiceKey { get; }

    /// <inheritdoc />
    public int Count => Services.Count;

    /// <inheritdoc />
    public bool IsReadOnly => Services.IsReadOnly;

    /// <inheritdoc />
    public ServiceDescriptor this[int index]
    {
        get => Services[index];
        set => Services[index] = value;
    }

    /// <summary>
    /// Composes the memory with a <see cref="ChatMemorySummarizer"/> (the memory needs <see cref="ChatMemoryConfig.Summarize"/>)
    /// and registers a hosted service that runs <see cref="ChatMemorySummarizer.RunAsync"/> for the host's life. The
    /// summary is written by the <see cref="IChatReducer"/> registered in the container if there is one, else by the
    /// <see cref="IChatClient"/> registered with <paramref name="chatClientKey"/> (or without a key). Options bind from
    /// <c>ChatMemory:Summarizer</c> (a keyed memory: <c>ChatMemory:{key}:Summarizer</c>), then <paramref name="configure"/>
    /// runs; they are validated when the host starts.
    /// </summary>
    /// <param name="configure">Adjusts the options; optional.</param>
    /// <param name="chatClientKey">The key of the summarizing model's <see cref="IChatClient"/>, or <see langword="null"/>
    /// for the unkeyed one (often a smaller, cheaper model than the chat's own is registered for this).</param>
    /// <returns>This builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">The memory has a summarizer already.</exception>
    public ChatMemoryBuilder AddSummarizer(Action<ChatMemorySummarizerOptions>? configure = null, object? chatClientKey = null)
    {
        if (_registration.Summarizer is not null)
        {
            throw new InvalidOperationException("This memory has a summarizer already.");
        }

        var name = ServiceKey ?? Options.Options.DefaultName;
        var section = ServiceKey is null
            ? ChatMemorySummarizerServiceCollectionExtensions.SectionName
            : $"{ChatMemoryConfig.SectionName}:{ServiceKey}:Summarizer";
        var options = Services.AddOptions<ChatMemorySummarizerOptions>(name).Configure<IServiceProvider>((o, provider) =>
            provider.GetService<IConfiguration>()?.GetSection(section).Bind(o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.GetValidationError() is null, "ChatMemorySummarizerOptions are invalid (see GetValidationError).").ValidateOnStart();
        _registration.Summarizer = (provider, features) =>
        {
            var settings = provider.GetRequiredService<IOptionsMonitor<ChatMemorySummarizerOptions>>().Get(name);
            var logger = provider.GetService<ILogger<ChatMemorySummarizer>>();
            if (provider.GetService<IChatReducer>() is { } reducer)
            {
                features.AddSummarizer(reducer, settings, logger);
            }
            else
            {
                features.AddSummarizer(
                    chatClientKey is null ? provider.GetRequiredService<IChatClient>() : provider.GetRequiredKeyedService<IChatClient>(chatClientKey), settings, logger);
            }
        };
        AddFeature<ChatMemorySummarizer>();
        Services.AddSingleton<IHostedService>(provider => new SummarizerService(Resolve<ChatMemorySummarizer>(provider, ServiceKey)));
        return this;
    }

    /// <summary>Composes the memory with <see cref="ChatMemoryRecall"/> (and <see cref="ChatMemoryOwners"/>), embedding
    /// with the <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings registered with
    /// <paramref name="embeddingGeneratorKey"/> (or without a key).</summary>
    /// <param name="embeddingGeneratorKey">The key of the embedding generator, or <see langword="null"/> for the unkeyed one.</param>
    /// <returns>This builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">The memory has recall already.</exception>
    public ChatMemoryBuilder AddRecall(object? embeddingGeneratorKey = null)
    {
        if (_registration.Recall is not null)
        {
            throw new InvalidOperationException("This memory has recall already.");
        }

        _registration.Recall = (provider, features) => features.AddRecall(
            embeddingGeneratorKey is null
                ? provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>()
                : provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(embeddingGeneratorKey),
            provider.GetService<ILogger<ChatMemoryRecall>>());
        AddFeature<ChatMemoryRecall>();
        return AddOwners();
    }

    /// <summary>Composes the memory with <see cref="ChatMemoryOwners"/> (owner lists and erasure; no embedder).</summary>
    /// <returns>This builder, for chaining.</returns>
    public ChatMemoryBuilder AddOwners()
    {
        if (!_registration.Owners)
        {
            _registration.Owners = true;
            AddFeature<ChatMemoryOwners>();
        }

        return this;
    }

    /// <inheritdoc />
    public void Add(ServiceDescriptor item) => Services.Add(item);

    /// <inheritdoc />
    public void Clear() => Services.Clear();

    /// <inheritdoc />
    public bool Contains(ServiceDescriptor item) => Services.Contains(item);

    /// <inheritdoc />
    public void CopyTo(ServiceDescriptor[] array, int arrayIndex) => Services.CopyTo(array, arrayIndex);

    /// <inheritdoc />
    public IEnumerator<ServiceDescriptor> GetEnumerator() => Services.GetEnumerator();

    /// <inheritdoc />
    public int IndexOf(ServiceDescriptor item) => Services.IndexOf(item);

    /// <inheritdoc />
    public void Insert(int index, ServiceDescriptor item) => Services.Insert(index, item);

    /// <inheritdoc />
    public bool Remove(ServiceDescriptor item) => Services.Remove(item);

    /// <inheritdoc />
    public void RemoveAt(int index) => Services.RemoveAt(index);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static T Resolve<T>(IServiceProvider provider, string? serviceKey)
        where T : notnull =>
        (serviceKey is null ? provider.GetRequiredService<RedisChatMemory>() : provider.GetRequiredKeyedService<RedisChatMemory>(serviceKey)).GetRequiredService<T>();

    // The feature as a singleton of its own, keyed like the memory: the memory's own instance.
    private void AddFeature<T>()
        where T : class
    {
        if (ServiceKey is null)
        {
            Services.AddSingleton(provider => Resolve<T>(provider, null));
        }
        else
        {
            Services.AddKeyedSingleton(ServiceKey, (provider, key) => Resolve<T>(provider, (string)key!));
        }
    }

    /// <summary>Runs the summarizer for the host's life.</summary>
    private sealed class SummarizerService(ChatMemorySummarizer summarizer) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => summarizer.RunAsync(stoppingToken);
    }
}

/// <summary>What one registered memory is composed with, filled in by <see cref="ChatMemoryBuilder"/> while services are
/// registered and read once, when the memory is built.</summary>
internal sealed class ChatMemoryRegistration(string? key)
{
    public string? Key => key;

    public Action<IServiceProvider, ChatMemoryFeatures>? Summarizer { get; set; }

    public Action<IServiceProvider, ChatMemoryFeatures>? Recall { get; set; }

    public bool Owners { get; set; }

    public ChatMemoryFeatures? Compose(IServiceProvider provider)
    {
        if (Summarizer is null && Recall is null && !Owners)
        {
            return null;
        }

        var features = new ChatMemoryFeatures();
        Summarizer?.Invoke(provider, features);
        Recall?.Invoke(provider, features);
        return Owners ? features.AddOwners() : features;
    }
}

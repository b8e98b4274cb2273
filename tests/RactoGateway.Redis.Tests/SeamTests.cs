using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace RactoGateway.Redis.Tests;

/// <summary>The adapters take IChatMemory: a decorator composes with the middleware and with DI, and the middleware finds
/// the memory through the services when none is passed.</summary>
public class SeamTests
{
    [Theory, AllServers]
    public async Task A_decorating_IChatMemory_composes_with_the_middleware_and_the_strict_model_accepts_what_it_sends(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var counting = new CountingMemory(bed.Memory);
        var model = new StrictChatClient();
        using var client = new ChatClientBuilder(model).UseChatMemory(counting).Build();
        var options = new ChatOptions { ConversationId = "seam" };

        await client.GetResponseAsync("one", options);
        await client.GetResponseAsync("two", options);

        Assert.Equal((2, 2), (counting.Reads, counting.Appends));
        Assert.Equal(["one", "echo: one", "two"], model.Calls[1].Select(m => m.Text));
        Assert.Same(counting, client.GetService<IChatMemory>());
        Assert.Equal(4, await bed.Memory.CountAsync("seam"));
    }

    [Theory, AllServers]
    public async Task UseChatMemory_without_a_memory_takes_the_registered_IChatMemory(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var counting = new CountingMemory(bed.Memory);
        await using var services = new ServiceCollection().AddSingleton<IChatMemory>(counting).BuildServiceProvider();
        using var client = new ChatClientBuilder(new StrictChatClient()).UseChatMemory().Build(services);

        await client.GetResponseAsync("hi", new ChatOptions { ConversationId = "di" });

        Assert.Equal(1, counting.Appends);
    }

    /// <summary>Counts the calls the adapters make, and forwards them.</summary>
    private sealed class CountingMemory(IChatMemory inner) : IChatMemory
    {
        public int Reads { get; private set; }

        public int Appends { get; private set; }

        public Task AppendManyAsync(string conversationId, IEnumerable<ChatMemoryMessage> messages, CancellationToken cancellationToken = default)
        {
            Appends++;
            return inner.AppendManyAsync(conversationId, messages, cancellationToken);
        }

        public Task AppendAsync(string conversationId, ChatMemoryMessage message, CancellationToken cancellationToken = default) =>
            AppendManyAsync(conversationId, [message], cancellationToken);

        public Task AppendTurnAsync(string conversationId, ChatMemoryMessage user, ChatMemoryMessage assistant, CancellationToken cancellationToken = default) =>
            AppendManyAsync(conversationId, [user, assistant], cancellationToken);

        public Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, CancellationToken cancellationToken = default) =>
            inner.GetHistoryAsync(conversationId, cancellationToken);

        public Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, int maxTokens, CancellationToken cancellationToken = default) =>
            inner.GetHistoryAsync(conversationId, maxTokens, cancellationToken);

        public Task<IReadOnlyList<ChatMessage>> GetChatMessagesForRequestAsync(
            string conversationId, IEnumerable<ChatMessage> request, int? maxTokens = null, CancellationToken cancellationToken = default)
        {
            Reads++;
            return inner.GetChatMessagesForRequestAsync(conversationId, request, maxTokens, cancellationToken);
        }

        public Task<long> CountAsync(string conversationId, CancellationToken cancellationToken = default) => inner.CountAsync(conversationId, cancellationToken);

        public Task ClearAsync(string conversationId, CancellationToken cancellationToken = default) => inner.ClearAsync(conversationId, cancellationToken);
    }
}

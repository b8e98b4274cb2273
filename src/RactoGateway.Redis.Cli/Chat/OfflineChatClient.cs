using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Cli.Chat;

/// <summary>The shape of chatmem's offline, deterministic models (the echo assistant, the offline and the instant
/// summarizer): one text reply computed from what was sent, streamed as one update. No network, nothing to dispose.</summary>
internal abstract class OfflineChatClient : IChatClient
{
    /// <summary>The reply's text to <paramref name="sent"/>.</summary>
    protected abstract string Reply(IReadOnlyList<ChatMessage> sent, ChatOptions? options);

    public virtual Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Reply([.. messages], options))));

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, response.Text);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

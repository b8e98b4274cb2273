using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace ChatService;

/// <summary>
/// A deterministic offline model: answers "echo: {last user text} (I remember N earlier messages)", N counted from the
/// messages it was sent, so the history the middleware prepended is visible in every reply.
/// </summary>
internal sealed class OfflineEchoChatClient : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages.ToList();
        var last = sent.LastOrDefault(m => m.Role == ChatRole.User);
        var text = $"echo: {last?.Text} (I remember {sent.Count - 1} earlier messages)";
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { ModelId = "offline-echo" });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType is not null && serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

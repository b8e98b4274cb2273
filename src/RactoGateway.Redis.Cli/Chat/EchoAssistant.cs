using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Cli.Chat;

/// <summary>
/// The offline assistant of <c>chatmem chat</c>: no network, deterministic. It answers
/// <c>echo #{n}: {text}</c>, where n counts the user messages it was sent, stored history included, so the reply shows
/// what the memory gave it.
/// </summary>
internal sealed class EchoAssistant : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages.ToList();
        var users = sent.Count(m => m.Role == ChatRole.User);
        var last = sent.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $"echo #{users}: {last}")));
    }

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

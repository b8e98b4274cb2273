using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Offline;

namespace RactoGateway.Redis.Cli.Chat;

/// <summary>
/// The offline assistant of <c>chatmem chat</c>: RactoGateway.Redis.Offline's <see cref="EchoChatClient"/> (no network,
/// deterministic, refusing what a provider would refuse), with chatmem's own wording of a text reply:
/// <c>echo #{n}: {text}</c>, where n counts the user messages it was sent, stored history included, so the reply shows
/// what the memory gave it. Tool calls and the answers to tool results are the echo client's.
/// </summary>
internal sealed class EchoAssistant() : DelegatingChatClient(new EchoChatClient())
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> sent = [.. messages];
        var response = await base.GetResponseAsync(sent, options, cancellationToken).ConfigureAwait(false);
        return Reworded(sent, response.Messages) is { } text ? new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { ModelId = response.ModelId, FinishReason = response.FinishReason } : response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <summary>chatmem's wording of a text reply to the user's message; <see langword="null"/> to keep the echo client's.</summary>
    private static string? Reworded(List<ChatMessage> sent, IList<ChatMessage> reply) =>
        sent[^1].Role == ChatRole.User && !reply.Any(m => m.Contents.OfType<FunctionCallContent>().Any())
            ? $"echo #{sent.Count(m => m.Role == ChatRole.User)}: {sent[^1].Text}"
            : null;
}

using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>The summarizing "model" of <c>chatmem bench --summarize --summarizer instant</c>: it answers a constant short
/// text at once, so that a run measures what summarization costs the memory and Redis (the scripts that read the pending
/// messages and commit the summary), not a model's latency.</summary>
internal sealed class InstantSummarizer : IChatClient
{
    public const string Text = "The user and the assistant talked; nothing to keep.";

    private static readonly Task<ChatResponse> Answer = Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Text)));

    // The same answer every time, allocated once: a bench measures the memory, not this.
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Answer;

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, Text);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// A deterministic in-process model: answers "echo: {last user text}", records what it was sent, and, when the last user
/// text starts with "weather", first asks for the get_weather tool, then answers from the tool result.
/// </summary>
public sealed class EchoChatClient : IChatClient
{
    public List<List<ChatMessage>> Calls { get; } = [];

    public bool Fail { get; set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages.ToList();
        Calls.Add(sent);
        if (Fail)
        {
            throw new InvalidOperationException("model unavailable");
        }

        var last = sent[^1];
        ChatMessage answer = last.Role == ChatRole.Tool
            ? new(ChatRole.Assistant, $"It is {((FunctionResultContent)last.Contents[0]).Result}.")
            : last.Text.StartsWith("weather", StringComparison.Ordinal)
                ? new(ChatRole.Assistant, [new FunctionCallContent($"call_{Calls.Count}", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })])
                : new(ChatRole.Assistant, "echo: " + last.Text);
        return Task.FromResult(new ChatResponse(answer));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var word in response.Text.Split(' '))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, word + " ") { MessageId = "r1" };
            if (Fail)
            {
                throw new InvalidOperationException("stream broke");
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

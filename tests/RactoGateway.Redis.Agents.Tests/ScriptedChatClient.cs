using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Agents.Tests;

/// <summary>
/// A deterministic model: answers "echo: &lt;last user text&gt;"; when offered tools and asked "weather in &lt;city&gt;",
/// calls <c>get_weather</c> first and answers from its result. Records every request it receives.
/// </summary>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly List<IReadOnlyList<ChatMessage>> _calls = [];

    /// <summary>Thrown by every call when set, standing for a model that is down.</summary>
    public Exception? Failure { get; set; }

    /// <summary>The messages of each request, in order.</summary>
    public IReadOnlyList<IReadOnlyList<ChatMessage>> Calls => _calls;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages.ToList();
        _calls.Add(sent);
        if (Failure is not null)
        {
            throw Failure;
        }

        var last = sent[^1];
        var result = last.Contents.OfType<FunctionResultContent>().FirstOrDefault();
        ChatMessage answer;
        if (result is not null)
        {
            answer = new ChatMessage(ChatRole.Assistant, $"The weather: {result.Result}.");
        }
        else if (options?.Tools is { Count: > 0 } && last.Text.StartsWith("weather in ", StringComparison.Ordinal))
        {
            var city = last.Text["weather in ".Length..];
            answer = new ChatMessage(ChatRole.Assistant, [new FunctionCallContent($"call_{_calls.Count}", "get_weather", new Dictionary<string, object?> { ["city"] = city })]);
        }
        else
        {
            answer = new ChatMessage(ChatRole.Assistant, "echo: " + last.Text);
        }

        return Task.FromResult(new ChatResponse(answer));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

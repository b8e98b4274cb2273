using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Offline;

namespace RactoGateway.Redis.Testing;

/// <summary>
/// The strict provider test model: an in-process <see cref="IChatClient"/> that checks every request against the
/// rules real providers enforce (<see cref="ProviderRules"/>) and refuses, with the provider's error, any request a
/// provider would refuse. Accepted requests get a scripted answer: the next queued response (<see cref="Enqueue"/>),
/// else <see cref="Responder"/> (by default <see cref="Replies.Echo"/>). Streams word by word. Every request is
/// recorded in <see cref="Calls"/>, every refusal in <see cref="Rejections"/>.
/// </summary>
public sealed class StrictChatClient : IChatClient
{
    private readonly List<IReadOnlyList<ChatMessage>> _calls = [];
    private readonly List<ProviderError> _rejections = [];
    private readonly List<IReadOnlyList<AITool>> _tools = [];
    private readonly Queue<ChatResponse> _script = new();

    // Ids unique across model instances, as a provider's are: the memory skips a message whose id it already stores.
    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];

    /// <summary>Creates a model checked against <paramref name="dialect"/>'s rules.</summary>
    public StrictChatClient(ProviderDialect dialect = ProviderDialect.OpenAI) => Dialect = dialect;

    /// <summary>Whose rules requests must satisfy.</summary>
    public ProviderDialect Dialect { get; }

    /// <summary>Answers an accepted request when no scripted response is queued.</summary>
    public Func<IReadOnlyList<ChatMessage>, ChatOptions?, int, ChatResponse> Responder { get; set; } = Replies.Echo;

    /// <summary>Thrown by every (valid) call when set, standing for a model that is down.</summary>
    public Exception? Failure { get; set; }

    /// <summary>The model id reported in responses.</summary>
    public string ModelId { get; set; } = "strict-test-model";

    /// <summary>The messages of each request (accepted or not), in order.</summary>
    public IReadOnlyList<IReadOnlyList<ChatMessage>> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The tools offered with each request (<see cref="ChatOptions.Tools"/>), in order, as <see cref="Calls"/>.</summary>
    public IReadOnlyList<IReadOnlyList<AITool>> Tools
    {
        get
        {
            lock (_calls)
            {
                return [.. _tools];
            }
        }
    }

    /// <summary>Every request refused, in order.</summary>
    public IReadOnlyList<ProviderError> Rejections
    {
        get
        {
            lock (_calls)
            {
                return [.. _rejections];
            }
        }
    }

    /// <summary>Queues a response for the next accepted request.</summary>
    public StrictChatClient Enqueue(ChatResponse response)
    {
        lock (_calls)
        {
            _script.Enqueue(response);
        }

        return this;
    }

    /// <summary>Checks <paramref name="messages"/> and answers them, or throws <see cref="ProviderRejectedException"/>.</summary>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return Task.FromResult(Answer([.. messages], options));
    }

    /// <summary>As <see cref="GetResponseAsync"/>, streamed: text word by word, each tool call as one update.</summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var response = Answer([.. messages], options);
        await Task.Yield();
        foreach (var update in ToUpdates(response))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return update;
        }
    }

    /// <summary>Validates, records and answers one request: the one place both the in-process and HTTP paths go through.</summary>
    public ChatResponse Answer(IReadOnlyList<ChatMessage> sent, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(sent);
        int number;
        ChatResponse? scripted;
        lock (_calls)
        {
            _calls.Add(sent);
            _tools.Add([.. options?.Tools ?? []]);
            number = _calls.Count;
            if (ProviderRules.Check(sent, Dialect) is { } error)
            {
                _rejections.Add(error);
                throw new ProviderRejectedException(error);
            }

            scripted = _script.Count > 0 ? _script.Dequeue() : null;
        }

        if (Failure is { } failure)
        {
            throw failure;
        }

        var response = scripted ?? Responder(sent, options, number);
        response.ResponseId ??= $"resp_{_instance}_{number}";
        response.ModelId ??= ModelId;
        response.FinishReason ??= response.Messages.Any(m => m.Contents.OfType<FunctionCallContent>().Any()) ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop;
        foreach (var message in response.Messages)
        {
            message.MessageId ??= $"msg_{_instance}_{number}";
        }

        return response;
    }

    /// <summary>The updates a provider streams for <paramref name="response"/>: text split before each space, then each
    /// tool call, then the finish reason.</summary>
    public static IEnumerable<ChatResponseUpdate> ToUpdates(ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        foreach (var message in response.Messages)
        {
            foreach (var content in message.Contents)
            {
                if (content is TextContent text)
                {
                    foreach (var piece in Pieces(text.Text))
                    {
                        yield return Update(response, message, [new TextContent(piece)]);
                    }
                }
                else
                {
                    yield return Update(response, message, [content]);
                }
            }
        }

        yield return new ChatResponseUpdate { ResponseId = response.ResponseId, ModelId = response.ModelId, FinishReason = response.FinishReason };
    }

    /// <summary>"echo: one two" as "echo:", " one", " two".</summary>
    public static IEnumerable<string> Pieces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] == ' ')
            {
                yield return text[start..i];
                start = i;
            }
        }

        if (text.Length > 0)
        {
            yield return text[start..];
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType is not null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private static ChatResponseUpdate Update(ChatResponse response, ChatMessage message, IList<AIContent> contents) => new(message.Role, contents)
    {
        MessageId = message.MessageId,
        ResponseId = response.ResponseId,
        ModelId = response.ModelId,
    };
}

/// <summary>Scripted answers for <see cref="StrictChatClient.Responder"/>.</summary>
public static class Replies
{
    /// <summary>
    /// After a tool result: "It is {result}.". When a <c>get_weather</c> tool is offered and the last message starts with
    /// "weather": a call <c>get_weather(city)</c> (the city after "weather in ", else Paris), id <c>call_{n}</c>.
    /// Otherwise "echo: {text of the last message}".
    /// </summary>
    public static ChatResponse Echo(IReadOnlyList<ChatMessage> sent, ChatOptions? options, int number)
    {
        ArgumentNullException.ThrowIfNull(sent);
        var last = sent[^1];
        if (last.Contents.OfType<FunctionResultContent>().LastOrDefault() is { } result)
        {
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, $"It is {result.Result}."));
        }

        if (options?.Tools?.Any(t => t.Name == "get_weather") == true && last.Text.StartsWith("weather", StringComparison.Ordinal))
        {
            var at = last.Text.IndexOf("weather in ", StringComparison.Ordinal);
            var city = at < 0 ? "Paris" : last.Text[(at + "weather in ".Length)..].TrimEnd('?', '.', '!', ' ');
            return new ChatResponse(new ChatMessage(ChatRole.Assistant,
                [new FunctionCallContent($"call_{number}", "get_weather", new Dictionary<string, object?> { ["city"] = city })]));
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, "echo: " + last.Text));
    }
}

/// <summary>A scripted model for recall on demand (the <c>search_memory</c> tool).</summary>
public static class SearchMemoryReplies
{
    /// <summary>
    /// Asked exactly <paramref name="question"/> with a tool named <paramref name="tool"/> offered, it calls that tool
    /// with <c>{"query": query, "top": 3}</c> (call id <c>call_{n}</c>); given the tool's result, it answers
    /// "You told me: {text}" with the first recalled text that starts with <paramref name="factPrefix"/>, or
    /// "I could not find it."; anything else gets <see cref="Replies.Echo"/>.
    /// </summary>
    public static Func<IReadOnlyList<ChatMessage>, ChatOptions?, int, ChatResponse> Responder(string question, string query, string factPrefix, string tool = "search_memory") =>
        (sent, options, number) =>
        {
            ArgumentNullException.ThrowIfNull(sent);
            var last = sent[^1];
            if (last.Contents.OfType<FunctionResultContent>().LastOrDefault() is { } result && result.CallId.StartsWith("search_", StringComparison.Ordinal))
            {
                var found = Recalled(result).FirstOrDefault(text => text.StartsWith(factPrefix, StringComparison.Ordinal));
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, found is null ? "I could not find it." : "You told me: " + found));
            }

            if (last.Role == ChatRole.User && last.Text == question && options?.Tools?.Any(t => t.Name == tool) == true)
            {
                return new ChatResponse(new ChatMessage(ChatRole.Assistant,
                    [new FunctionCallContent($"search_{number}", tool, new Dictionary<string, object?> { ["query"] = query, ["top"] = 3 })]));
            }

            return Replies.Echo(sent, options, number);
        };

    /// <summary>The texts of a <c>search_memory</c> result, best first (empty for an error).</summary>
    public static IReadOnlyList<string> Recalled(FunctionResultContent result)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var json = System.Text.Json.JsonDocument.Parse(Text(result));
        return [.. json.RootElement.GetProperty("recalled").EnumerateArray().Select(hit => hit.GetProperty("text").GetString()!)];
    }

    /// <summary>The result as the model reads it: the tool's JSON text.</summary>
    public static string Text(FunctionResultContent result) => result?.Result switch
    {
        string s => s,
        System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } e => e.GetString()!,
        System.Text.Json.JsonElement e => e.GetRawText(),
        var other => throw new InvalidOperationException($"Unexpected tool result: {other}"),
    };
}

/// <summary>A deterministic summarizing model for the rolling summary: it answers with the summary so far followed by
/// the content of every message it was asked to fold in, space-separated, so a test can see exactly what was folded,
/// how often and in which order (contents must be single tokens).</summary>
public static class FoldReplies
{
    /// <summary>The new summary for a request written by the library's summarizer (see its <c>SummaryText.Request</c>).</summary>
    public static ChatResponse Fold(IReadOnlyList<ChatMessage> sent, ChatOptions? options, int number)
    {
        ArgumentNullException.ThrowIfNull(sent);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, Folded(sent[^1].Text)));
    }

    /// <summary>The summary so far plus the contents listed in <paramref name="request"/>.</summary>
    public static string Folded(string request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parts = request.Split("\n\nMessages to fold in, oldest first:\n", 2);
        var before = parts[0]["Summary so far:\n".Length..];
        var tokens = before == "(none)" ? new List<string>() : [.. before.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        foreach (var line in parts[1].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var content = line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..];
            var calls = content.IndexOf(" [calls ", StringComparison.Ordinal);
            tokens.Add(calls < 0 ? content : content[..calls]);
        }

        return string.Join(' ', tokens);
    }
}

/// <summary>A deterministic bag-of-words embedder for functional recall tests (the quality test uses the real MiniLM):
/// each lower-cased word of 3+ letters hashes to one of 128 dimensions; vectors are unit length.</summary>
public sealed class WordHashEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private const int Dimensions = 128;

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var text in values)
        {
            var vector = new float[Dimensions];
            vector[0] = 0.01f; // never all zero
            foreach (var word in text.ToLowerInvariant().Split([' ', '.', ',', '?', '!', '\'', '"'], StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length >= 3))
            {
                vector[1 + (int)((uint)StableHash(word) % (Dimensions - 1))] += 1;
            }

            var norm = MathF.Sqrt(vector.Sum(v => v * v));
            result.Add(new Embedding<float>(vector.Select(v => v / norm).ToArray()));
        }

        return Task.FromResult(result);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType?.IsInstanceOfType(this) == true ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private static int StableHash(string word)
    {
        var hash = 17;
        foreach (var c in word)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash;
    }
}

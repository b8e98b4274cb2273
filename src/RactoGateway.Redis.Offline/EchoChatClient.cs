using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Offline;

/// <summary>
/// An offline, deterministic stand-in for a chat model, for trying the library and for tests: it is not a model. It
/// answers what it was sent so that the history a memory gave it can be seen, calls the tools it is offered, and refuses
/// what OpenAI and Anthropic refuse. No network, no key.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>To a conversation that ends with the user's message: <c>echo: {that message's text} (I remember {n} earlier
/// messages)</c>, n being the number of messages sent before it (system messages included).</item>
/// <item>When <see cref="ChatOptions.Tools"/> offers a function whose name appears in that message's text as a whole
/// word (ordinal comparison), instead one assistant message calling the first such function: call id <c>call_{k}</c>,
/// unique within the conversation, and as arguments the user's text under the name of the function's first string
/// parameter in its JSON schema (no arguments when it has none).</item>
/// <item>To a conversation that ends with tool results answering its calls: <c>echo: {the results' text, joined by "; "}</c>.</item>
/// <item>Strict: a request a provider would refuse (<see cref="ProviderRules"/>, OpenAI's rules: an empty conversation,
/// an unknown role, a tool result that answers no call of the assistant message before it, a tool call left unanswered
/// before the next non-tool message, a message without content) throws <see cref="ProviderRejectedException"/>, whose
/// message is the provider's with the offending message's index; a conversation that ends with neither the user's
/// message nor tool results throws <see cref="InvalidOperationException"/>.</item>
/// <item>Streaming yields the same reply: the text as one update, or the function call as one update.</item>
/// </list>
/// </remarks>
/// <example>
/// <code>
/// IChatClient model = new EchoChatClient();
/// var reply = await model.GetResponseAsync([new(ChatRole.System, "Be brief."), new(ChatRole.User, "who am I?")]);
/// Console.WriteLine(reply.Text); // echo: who am I? (I remember 1 earlier messages)
/// </code>
/// </example>
public sealed class EchoChatClient : IChatClient
{
    private const string Name = "offline-echo";
    private const string CallIdPrefix = "call_";

    private static readonly ChatClientMetadata Metadata = new(Name, providerUri: null, defaultModelId: Name);

    /// <summary>Creates the echo client; it holds no state between calls.</summary>
    public EchoChatClient()
    {
    }

    /// <summary>Answers <paramref name="messages"/> as the class describes, or refuses them.</summary>
    /// <param name="messages">The conversation, oldest first.</param>
    /// <param name="options">The tools offered (<see cref="ChatOptions.Tools"/>); everything else is ignored.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One assistant message: the echo, or a function call.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    /// <exception cref="ProviderRejectedException">A provider would refuse the request.</exception>
    /// <exception cref="InvalidOperationException">The conversation ends with neither the user's message nor tool results.</exception>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = Reply([.. messages], options);
        return Task.FromResult(new ChatResponse(reply) { ModelId = Name, FinishReason = FinishReason(reply) });
    }

    /// <summary>As <see cref="GetResponseAsync"/>, streamed as one update. The request is checked before the first
    /// update (a refused request throws from this call).</summary>
    /// <param name="messages">The conversation, oldest first.</param>
    /// <param name="options">The tools offered (<see cref="ChatOptions.Tools"/>); everything else is ignored.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One update with the reply's text or function call, its role, model id and finish reason.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    /// <exception cref="ProviderRejectedException">A provider would refuse the request.</exception>
    /// <exception cref="InvalidOperationException">The conversation ends with neither the user's message nor tool results.</exception>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = Reply([.. messages], options);
        return OfflineClient.OneUpdate(new ChatResponseUpdate(ChatRole.Assistant, reply.Contents) { ModelId = Name, FinishReason = FinishReason(reply) }, cancellationToken);
    }

    /// <summary>This client for a <paramref name="serviceType"/> it is an instance of; its <see cref="ChatClientMetadata"/>
    /// (provider name and model id <c>offline-echo</c>); otherwise <see langword="null"/>.</summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">A key; any key but <see langword="null"/> gets <see langword="null"/>.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is null.</exception>
    public object? GetService(Type serviceType, object? serviceKey = null) => OfflineClient.GetService(this, Metadata, serviceType, serviceKey);

    /// <summary>Nothing to release.</summary>
    public void Dispose()
    {
    }

    private static ChatFinishReason FinishReason(ChatMessage reply) =>
        reply.Contents.Any(c => c is FunctionCallContent) ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop;

    private static ChatMessage Reply(IReadOnlyList<ChatMessage> sent, ChatOptions? options)
    {
        if (ProviderRules.Check(sent) is { } error)
        {
            throw new ProviderRejectedException(error);
        }

        var last = sent[^1];
        if (last.Role == ChatRole.Tool)
        {
            // The results of the trailing tool messages (the rules above made sure they answer the calls before them).
            var first = sent.Count - 1;
            while (first > 0 && sent[first - 1].Role == ChatRole.Tool)
            {
                first--;
            }

            var results = sent.Skip(first).SelectMany(m => m.Contents.OfType<FunctionResultContent>()).Select(r => ResultText(r.Result));
            return new ChatMessage(ChatRole.Assistant, "echo: " + string.Join("; ", results));
        }

        if (last.Role != ChatRole.User)
        {
            throw new InvalidOperationException(
                $"EchoChatClient answers a conversation that ends with the user's message or with tool results; the last message, messages[{sent.Count - 1}], has role '{last.Role}'.");
        }

        var text = last.Text;
        if (Offered(options, text) is { } function)
        {
            var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (FirstStringParameter(function.JsonSchema) is { } parameter)
            {
                arguments[parameter] = text;
            }

            return new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(NextCallId(sent), function.Name, arguments)]);
        }

        return new ChatMessage(ChatRole.Assistant, $"echo: {text} (I remember {sent.Count - 1} earlier messages)");
    }

    /// <summary>The first function offered whose name is a whole word of <paramref name="text"/>.</summary>
    private static AIFunctionDeclaration? Offered(ChatOptions? options, string text)
    {
        foreach (var tool in options?.Tools ?? [])
        {
            if (tool is AIFunctionDeclaration function && ContainsWord(text, function.Name))
            {
                return function;
            }
        }

        return null;
    }

    private static bool ContainsWord(string text, string word)
    {
        if (string.IsNullOrEmpty(word))
        {
            return false;
        }

        for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, StringComparison.Ordinal))
        {
            var end = at + word.Length;
            if ((at == 0 || !IsWordChar(text[at - 1])) && (end == text.Length || !IsWordChar(text[end])))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>The name of the first property of type string in the schema's <c>properties</c>.</summary>
    private static string? FirstStringParameter(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in properties.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("type", out var type)
                && (type.ValueKind == JsonValueKind.String ? type.ValueEquals("string")
                    : type.ValueKind == JsonValueKind.Array && type.EnumerateArray().Any(t => t.ValueKind == JsonValueKind.String && t.ValueEquals("string"))))
            {
                return property.Name;
            }
        }

        return null;
    }

    /// <summary><c>call_{k}</c>, k one more than the highest k of the calls in the conversation (1 when there is none).</summary>
    private static string NextCallId(IReadOnlyList<ChatMessage> sent)
    {
        var highest = 0L;
        foreach (var message in sent)
        {
            foreach (var call in message.Contents.OfType<FunctionCallContent>())
            {
                if (call.CallId.StartsWith(CallIdPrefix, StringComparison.Ordinal)
                    && long.TryParse(call.CallId.AsSpan(CallIdPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var k))
                {
                    highest = Math.Max(highest, k);
                }
            }
        }

        return CallIdPrefix + (highest + 1).ToString(CultureInfo.InvariantCulture);
    }

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string text => text,
        JsonElement { ValueKind: JsonValueKind.String } text => text.GetString() ?? "",
        JsonElement json => json.GetRawText(),
        _ => Convert.ToString(result, CultureInfo.InvariantCulture) ?? "",
    };
}

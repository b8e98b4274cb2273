using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Offline;

/// <summary>
/// An offline, deterministic stand-in for the summary model of
/// <see cref="ChatMemoryFeatures.AddSummarizer(IChatClient, ChatMemorySummarizerOptions?, Microsoft.Extensions.Logging.ILogger{ChatMemorySummarizer}?)"/>,
/// for trying the rolling summary and for tests: it is not a model. It "summarizes" by concatenation: the summary so far
/// (when the request carries one), then one line per folded message (<c>role: text</c>), keeping only the newest lines
/// that fit <see cref="ChatOptions.MaxOutputTokens"/> (counted as 4 characters a token; all lines when it is unset). No
/// network, no key.
/// </summary>
/// <remarks>
/// It reads the summarizer's request: a user message <c>Summary so far:\n{summary or (none)}\n\nMessages to fold in,
/// oldest first:\n{one line per message}</c>. Sent anything else, it concatenates one <c>role: text</c> line per
/// message other than system messages. When even the newest line is longer than the bound, the reply is that line's
/// beginning, cut to the bound. Streaming yields the same text as one update.
/// </remarks>
/// <example>
/// <code>
/// var memory = new RedisChatMemory("localhost:6379", new ChatMemoryConfig { MaxTurns = 5, Summarize = true })
/// {
///     Features = new ChatMemoryFeatures().AddSummarizer(new ConcatenatingSummarizer()),
/// };
/// </code>
/// </example>
public sealed class ConcatenatingSummarizer : IChatClient
{
    private const string Name = "offline-concatenating-summarizer";
    private const string SoFar = "Summary so far:\n";
    private const string None = "(none)";
    private const string Separator = "\n\nMessages to fold in, oldest first:\n";

    private static readonly ChatClientMetadata Metadata = new(Name, providerUri: null, defaultModelId: Name);

    /// <summary>Creates the summarizer; it holds no state between calls.</summary>
    public ConcatenatingSummarizer()
    {
    }

    /// <summary>The new summary for <paramref name="messages"/>, as the class describes.</summary>
    /// <param name="messages">The summarizing request (the library's: a system prompt, then one user message).</param>
    /// <param name="options">The size bound, <see cref="ChatOptions.MaxOutputTokens"/> (at least 1 when set).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One assistant message with the summary.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="ChatOptions.MaxOutputTokens"/> is below 1; names <paramref name="options"/>.</exception>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var text = Summarize([.. messages], options);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { ModelId = Name, FinishReason = ChatFinishReason.Stop });
    }

    /// <summary>As <see cref="GetResponseAsync"/>, streamed as one update.</summary>
    /// <param name="messages">The summarizing request (the library's: a system prompt, then one user message).</param>
    /// <param name="options">The size bound, <see cref="ChatOptions.MaxOutputTokens"/> (at least 1 when set).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One update with the summary.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="ChatOptions.MaxOutputTokens"/> is below 1; names <paramref name="options"/>.</exception>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var text = Summarize([.. messages], options);
        return OfflineClient.OneUpdate(new ChatResponseUpdate(ChatRole.Assistant, text) { ModelId = Name, FinishReason = ChatFinishReason.Stop }, cancellationToken);
    }

    /// <summary>This summarizer for a <paramref name="serviceType"/> it is an instance of; its
    /// <see cref="ChatClientMetadata"/> (provider name and model id <c>offline-concatenating-summarizer</c>); otherwise
    /// <see langword="null"/>.</summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">A key; any key but <see langword="null"/> gets <see langword="null"/>.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is null.</exception>
    public object? GetService(Type serviceType, object? serviceKey = null) => OfflineClient.GetService(this, Metadata, serviceType, serviceKey);

    /// <summary>Nothing to release.</summary>
    public void Dispose()
    {
    }

    private static string Summarize(IReadOnlyList<ChatMessage> sent, ChatOptions? options)
    {
        var bound = options?.MaxOutputTokens is { } tokens
            ? tokens >= 1 ? tokens * 4L : throw new ArgumentException($"ChatOptions.MaxOutputTokens must be at least 1 (was {tokens}).", nameof(options))
            : long.MaxValue;
        var lines = Lines(sent);

        // The newest lines that fit, joined by '\n'.
        var length = 0L;
        var first = lines.Count;
        while (first > 0 && length + lines[first - 1].Length + (first < lines.Count ? 1 : 0) <= bound)
        {
            length += lines[first - 1].Length + (first < lines.Count ? 1 : 0);
            first--;
        }

        return first == lines.Count && lines.Count > 0
            ? lines[^1][..(int)Math.Min(bound, lines[^1].Length)]
            : string.Join('\n', lines.Skip(first));
    }

    private static List<string> Lines(IReadOnlyList<ChatMessage> sent)
    {
        var lines = new List<string>();
        var request = sent.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var parts = request.Split(Separator, 2);
        if (parts.Length == 2 && parts[0].StartsWith(SoFar, StringComparison.Ordinal))
        {
            var before = parts[0][SoFar.Length..];
            if (before != None)
            {
                lines.AddRange(before.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }

            lines.AddRange(parts[1].Split('\n', StringSplitOptions.RemoveEmptyEntries));
            return lines;
        }

        foreach (var message in sent)
        {
            if (message.Role != ChatRole.System && message.Text is { Length: > 0 } text)
            {
                lines.Add($"{message.Role}: {text.ReplaceLineEndings(" ")}");
            }
        }

        return lines;
    }
}

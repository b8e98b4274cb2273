using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Cli.Chat;

/// <summary>
/// The offline summarizer of <c>chatmem chat --summarize</c> without <c>--model</c>: no network, deterministic, so that the
/// rolling summary can be seen working without a model. It "summarizes" by concatenation: the summary so far, then one
/// line per folded message (<c>role: text</c>, as the library lists them in its request), keeping only the newest lines
/// that fit the summary's size bound (<see cref="ChatOptions.MaxOutputTokens"/>, counted as 4 characters a token).
/// </summary>
internal sealed class OfflineSummarizer : OfflineChatClient
{
    // The library's summarizing request (one user message after the prompt): "Summary so far:\n{summary or (none)}\n\n
    // Messages to fold in, oldest first:\n{one line per message}". Anything else is kept whole.
    private const string SoFar = "Summary so far:\n";
    private const string Separator = "\n\nMessages to fold in, oldest first:\n";

    protected override string Reply(IReadOnlyList<ChatMessage> sent, ChatOptions? options)
    {
        var request = sent.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var lines = new List<string>();
        var parts = request.Split(Separator, 2);
        if (parts.Length == 2 && parts[0].StartsWith(SoFar, StringComparison.Ordinal))
        {
            var before = parts[0][SoFar.Length..];
            if (before != "(none)")
            {
                lines.AddRange(before.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }

            lines.AddRange(parts[1].Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        else
        {
            lines.AddRange(request.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        // The size bound: drop the oldest lines, keep at least the newest.
        var budget = (long)(options?.MaxOutputTokens ?? 1000) * 4;
        var length = lines.Sum(l => (long)l.Length + 1);
        var first = 0;
        while (length > budget && first < lines.Count - 1)
        {
            length -= lines[first++].Length + 1;
        }

        return string.Join('\n', lines.Skip(first));
    }
}

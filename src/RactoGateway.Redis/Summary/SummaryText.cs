using System.Text;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>
/// How a new summary's text is written from the summary so far and the pending messages: by a chat model with a prompt,
/// or by an <see cref="IChatReducer"/> (e.g. M.E.AI's <c>SummarizingChatReducer</c>, with its own prompt and client).
/// </summary>
internal static class SummaryText
{
    /// <summary>A writer that asks <paramref name="client"/>: the prompt as a system message, then one user message with
    /// the summary so far and the new messages as text (valid for any provider: no tool messages are sent as such).</summary>
    public static Func<string, IReadOnlyList<ChatMemoryMessage>, CancellationToken, Task<string>> FromClient(IChatClient client, ChatMemorySummarizerOptions options)
    {
        var chatOptions = new ChatOptions { MaxOutputTokens = options.MaxSummaryTokens };
        var prompt = options.Prompt;
        return async (summary, messages, cancellationToken) =>
        {
            List<ChatMessage> request = [new(ChatRole.System, prompt), new(ChatRole.User, Request(summary, messages))];
            var response = await client.GetResponseAsync(request, chatOptions.Clone(), cancellationToken).ConfigureAwait(false);
            return response.Text;
        };
    }

    /// <summary>A writer that runs <paramref name="reducer"/> over the summary so far (as an assistant message) and the
    /// new messages, and takes all it returns as the new text: what it summarized, and any message it kept as it was
    /// (written "role: text"), so that nothing folded is lost.</summary>
    public static Func<string, IReadOnlyList<ChatMemoryMessage>, CancellationToken, Task<string>> FromReducer(IChatReducer reducer) =>
        async (summary, messages, cancellationToken) =>
        {
            var input = new List<ChatMessage>(messages.Count + 1);
            if (summary.Length > 0)
            {
                input.Add(new ChatMessage(ChatRole.Assistant, summary));
            }

            var originals = new HashSet<ChatMessage>(ReferenceEqualityComparer.Instance);
            foreach (var message in messages)
            {
                var converted = message.ToChatMessage();
                originals.Add(converted);
                input.Add(converted);
            }

            var text = new StringBuilder();
            foreach (var message in await reducer.ReduceAsync(input, cancellationToken).ConfigureAwait(false))
            {
                var line = originals.Contains(message) ? $"{message.Role}: {message.Text}" : message.Text;
                if (!string.IsNullOrWhiteSpace(line))
                {
                    text.Append(text.Length > 0 ? "\n" : "").Append(line);
                }
            }

            return text.ToString();
        };

    /// <summary>The user message: the summary so far, then the messages to fold in, one per line.</summary>
    public static string Request(string summary, IReadOnlyList<ChatMemoryMessage> messages)
    {
        var text = new StringBuilder("Summary so far:\n").Append(summary.Length > 0 ? summary : "(none)").Append("\n\nMessages to fold in, oldest first:\n");
        foreach (var message in messages)
        {
            text.Append(Line(message)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>One message as a line: <c>role: text</c>, with tool calls and results named.</summary>
    public static string Line(ChatMemoryMessage message)
    {
        var line = new StringBuilder(message.Role);
        if (message.ToolCallId is { } answered)
        {
            line.Append(" (result of ").Append(answered).Append(')');
        }

        line.Append(": ").Append(message.Content.ReplaceLineEndings(" "));
        foreach (var call in message.ToolCalls ?? [])
        {
            line.Append(" [calls ").Append(call.Name).Append(' ').Append(call.Arguments).Append(" as ").Append(call.Id).Append(']');
        }

        return line.ToString();
    }
}

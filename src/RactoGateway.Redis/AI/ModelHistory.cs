using Microsoft.Extensions.AI;

namespace RactoGateway.Redis;

/// <summary>
/// What a model may be sent: the one place that turns stored records into a history a provider accepts. Every path
/// that hands history to a model goes through it (<see cref="RedisChatMemory.GetChatMessagesAsync(string, CancellationToken)"/>
/// and its budgeted and per-request forms, <see cref="RedisChatMemory.GetHistoryAsync(string, int, CancellationToken)"/>,
/// the <see cref="ChatMemoryChatClient"/> middleware, the Agent Framework provider and <c>chatmem chat</c>). Storage is
/// never changed: Python readers share the list, and under the seed window rule it may legitimately begin with a tool
/// result whose call was trimmed.
/// </summary>
/// <remarks>
/// The rule (OpenAI Chat Completions and Anthropic Messages both enforce it):
/// <list type="bullet">
/// <item>no tool result without its assistant tool call earlier in the same request: a <c>tool</c> message is sent only
/// when it answers a call of the assistant message it follows, with only tool results in between, and only once;</item>
/// <item>no assistant tool call without all of its results before the next non-tool message: an assistant message keeps
/// only the calls that are answered (at the very end of the history, also those the request's leading tool results
/// answer), and is left out when that leaves it with nothing to say;</item>
/// <item>nothing a provider would refuse outright: messages of a custom role and messages with no content at all are
/// left out.</item>
/// </list>
/// Everything else (order, text, ids, metadata, pinned system messages) is sent as stored.
/// </remarks>
internal static class ModelHistory
{
    /// <summary>The records a model may be sent, oldest first; see the class remarks.</summary>
    /// <param name="records">Stored records, oldest first (the whole window or a budgeted part of it).</param>
    /// <param name="answeredAfter">Call ids that the request about to follow answers first (its leading tool results):
    /// a trailing assistant call they answer is kept.</param>
    public static List<ChatMemoryMessage> Filter(IReadOnlyList<ChatMemoryMessage> records, IReadOnlySet<string>? answeredAfter = null)
    {
        var n = records.Count;
        var kept = new List<ChatMemoryMessage>(n);
        var i = 0;
        while (i < n)
        {
            var message = records[i];
            if (!ChatRoles.IsKnown(message.Role) || message.Role == ChatRoles.Tool)
            {
                // A custom role no provider knows, or a tool result that follows no call of its own: an assistant
                // message with calls takes its results below.
                i++;
                continue;
            }

            if (message.Role != ChatRoles.Assistant || message.ToolCalls is not { Count: > 0 } calls)
            {
                if (HasContent(message))
                {
                    kept.Add(message);
                }

                i++;
                continue;
            }

            // The tool results right after the call (custom roles in between are not sent, so they do not separate them).
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var call in calls)
            {
                ids.Add(call.Id);
            }

            var answered = new HashSet<string>(StringComparer.Ordinal);
            var results = new List<ChatMemoryMessage>();
            var j = i + 1;
            for (; j < n && (records[j].Role == ChatRoles.Tool || !ChatRoles.IsKnown(records[j].Role)); j++)
            {
                if (records[j] is { Role: ChatRoles.Tool, ToolCallId: { } id } result && ids.Contains(id) && answered.Add(id))
                {
                    results.Add(result);
                }
            }

            var atEnd = j == n;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var answeredCalls = new List<ChatMemoryToolCall>(calls.Count);
            foreach (var call in calls)
            {
                if ((answered.Contains(call.Id) || (atEnd && answeredAfter?.Contains(call.Id) == true)) && seen.Add(call.Id))
                {
                    answeredCalls.Add(call);
                }
            }

            var sent = answeredCalls.Count == calls.Count ? message : message with { ToolCalls = answeredCalls.Count > 0 ? answeredCalls : null };
            if (answeredCalls.Count > 0 || HasContent(sent))
            {
                kept.Add(sent);
                kept.AddRange(results);
            }

            i = j;
        }

        return kept;
    }

    /// <summary><see cref="Filter"/>, then converted to Microsoft.Extensions.AI messages.</summary>
    public static List<ChatMessage> ToChatMessages(IReadOnlyList<ChatMemoryMessage> records, IReadOnlySet<string>? answeredAfter = null)
    {
        var filtered = Filter(records, answeredAfter);
        var messages = new List<ChatMessage>(filtered.Count);
        foreach (var record in filtered)
        {
            messages.Add(record.ToChatMessage());
        }

        return messages;
    }

    /// <summary>The call ids the leading tool messages of <paramref name="request"/> answer (results of a call that the
    /// stored history ends with, as <c>FunctionInvokingChatClient</c> sends them when it runs outside the memory).</summary>
    public static HashSet<string>? LeadingResults(IEnumerable<ChatMessage> request)
    {
        HashSet<string>? ids = null;
        foreach (var message in request)
        {
            if (message is null || message.Role != ChatRole.Tool)
            {
                break;
            }

            foreach (var result in message.Contents.OfType<FunctionResultContent>())
            {
                (ids ??= new HashSet<string>(StringComparer.Ordinal)).Add(result.CallId);
            }
        }

        return ids;
    }

    /// <summary>The index where the trailing tool-call group of <paramref name="records"/> starts (an assistant message
    /// with calls, then only tool results to the end), when the request answers one of its calls; otherwise the count.</summary>
    public static int PendingGroupStart(IReadOnlyList<ChatMemoryMessage> records, IReadOnlySet<string>? answeredAfter)
    {
        if (answeredAfter is not { Count: > 0 })
        {
            return records.Count;
        }

        var i = records.Count - 1;
        while (i >= 0 && (records[i].Role == ChatRoles.Tool || !ChatRoles.IsKnown(records[i].Role)))
        {
            i--;
        }

        return i >= 0 && records[i] is { Role: ChatRoles.Assistant, ToolCalls: { Count: > 0 } calls } && calls.Any(c => answeredAfter.Contains(c.Id))
            ? i
            : records.Count;
    }

    // Providers refuse a message with nothing in it (Anthropic also an empty text block); a tool result may be empty.
    private static bool HasContent(ChatMemoryMessage message) =>
        message.Content.Length > 0 || message.ToolCalls is { Count: > 0 } || message.ExtraContentsJson is not null;
}

namespace RactoGateway.Redis;

/// <summary>
/// The window rules of <see cref="ChatMemoryWindow"/> on decoded messages, for reads under a token budget.
/// <c>Scripts/append.lua</c> applies the same rules to stored elements when it trims; keep the two in step.
/// </summary>
internal static class WindowPolicy
{
    private enum Kind
    {
        Pinned,
        User,
        ToolCalls,
        ToolResult,
        Other,
    }

    /// <summary>
    /// The newest messages whose tokens fit <paramref name="maxTokens"/>, dropping the oldest units first, as trimming
    /// drops them, except that an assistant's tool calls and their results are always one unit. Pinned system messages are
    /// always kept, and their tokens are counted first; past <see cref="ChatMemoryWindow.MaxPinnedMessages"/> (a list
    /// written by an earlier version), the oldest after the first are left out, as the next trimming append would drop them.
    /// </summary>
    public static List<ChatMemoryMessage> FitToBudget(List<ChatMemoryMessage> messages, int maxTokens, IChatTokenCounter counter, ChatMemoryWindow window)
    {
        if (window.PinSystemMessages)
        {
            messages = BoundPins(messages, window.MaxPinnedMessages);
        }

        var n = messages.Count;
        var kinds = new Kind[n];
        var tokens = new int[n];
        long total = 0;
        for (var i = 0; i < n; i++)
        {
            kinds[i] = KindOf(messages[i], window);
            tokens[i] = counter.CountTokens(messages[i]);
            total += tokens[i];
        }

        var cut = NextCounted(kinds, 0);
        while (total > maxTokens && cut < n)
        {
            var stop = UnitEnd(kinds, cut, window.ToolCallAware);
            for (var j = cut; j < stop; j++)
            {
                if (kinds[j] != Kind.Pinned)
                {
                    total -= tokens[j];
                }
            }

            cut = NextCounted(kinds, stop);
        }

        // Never start with a tool result whose call was dropped (by the budget, or by the window under the seed rule).
        while (cut < n && kinds[cut] == Kind.ToolResult)
        {
            cut = NextCounted(kinds, cut + 1);
        }

        var kept = new List<ChatMemoryMessage>(n);
        for (var i = 0; i < n; i++)
        {
            if (i >= cut || kinds[i] == Kind.Pinned)
            {
                kept.Add(messages[i]);
            }
        }

        return kept;
    }

    /// <summary>Leaves out the oldest pinned messages after the first while there are more than <paramref name="max"/>.</summary>
    private static List<ChatMemoryMessage> BoundPins(List<ChatMemoryMessage> messages, int max)
    {
        var pinned = 0;
        foreach (var m in messages)
        {
            pinned += m.Role == ChatRoles.System ? 1 : 0;
        }

        if (pinned <= max)
        {
            return messages;
        }

        var bounded = new List<ChatMemoryMessage>(messages.Count);
        var seen = 0;
        foreach (var m in messages)
        {
            if (m.Role == ChatRoles.System)
            {
                seen++;
                if (seen > 1 && seen <= pinned - max + 1)
                {
                    continue;
                }
            }

            bounded.Add(m);
        }

        return bounded;
    }

    private static Kind KindOf(ChatMemoryMessage m, ChatMemoryWindow window) => m.Role switch
    {
        ChatRoles.System when window.PinSystemMessages => Kind.Pinned,
        ChatRoles.User => Kind.User,
        ChatRoles.Tool => Kind.ToolResult,
        ChatRoles.Assistant when m.ToolCalls is not null => Kind.ToolCalls,
        _ => Kind.Other,
    };

    private static int NextCounted(Kind[] kinds, int i)
    {
        while (i < kinds.Length && kinds[i] == Kind.Pinned)
        {
            i++;
        }

        return i;
    }

    /// <summary>The index after the unit that starts at <paramref name="i"/>.</summary>
    private static int UnitEnd(Kind[] kinds, int i, bool wholeExchanges)
    {
        if (wholeExchanges && kinds[i] == Kind.User)
        {
            // A user message and its answers, up to the next user message; if there is none, just the message.
            for (var j = i + 1; j < kinds.Length; j++)
            {
                if (kinds[j] == Kind.User)
                {
                    return j;
                }
            }
        }
        else if (kinds[i] == Kind.ToolCalls)
        {
            // A budget read is sent to a model: tool calls go with their results under every rule (append.lua's seed
            // and pin-only rules trim them apart; the model-facing reads then leave the orphans out).
            var j = i + 1;
            while (j < kinds.Length && kinds[j] is Kind.ToolResult or Kind.Pinned)
            {
                j++;
            }

            return j;
        }

        return i + 1;
    }
}

namespace RactoGateway.Redis.Tests;

/// <summary>
/// An in-memory model of a conversation under the window rules, written independently of the library: the stored
/// list is partitioned into units up front, then whole units are dropped from the oldest end. Under
/// <see cref="ChatMemoryWindow.PinSystemMessages"/> the pinned system messages are a run at the head of the list, oldest
/// first (a new one joins the end of that run at once), at most <see cref="ChatMemoryWindow.MaxPinnedMessages"/> of them
/// (past that, the oldest after the first goes); the counted messages follow in order.
/// </summary>
public sealed class WindowModel(int maxTurns, ChatMemoryWindow rule)
{
    private readonly List<ChatMemoryMessage> _pinned = [];
    private readonly List<ChatMemoryMessage> _counted = [];

    public IReadOnlyList<ChatMemoryMessage> Stored => [.. _pinned, .. _counted];

    public void Clear()
    {
        _pinned.Clear();
        _counted.Clear();
    }

    public void Append(IReadOnlyList<ChatMemoryMessage> batch)
    {
        var ids = Stored.Select(m => m.MessageId).OfType<string>().ToHashSet();
        var added = 0;
        foreach (var message in batch)
        {
            if (message.MessageId is { } id && !ids.Add(id))
            {
                continue;
            }

            (Pinned(message) ? _pinned : _counted).Add(message);
            added++;
        }

        while (_pinned.Count > rule.MaxPinnedMessages)
        {
            _pinned.RemoveAt(1);
        }

        // The whole list's length decides when to trim (pins included); the counted messages decide how much.
        if (added > 0 && _pinned.Count + _counted.Count > maxTurns * 2)
        {
            Trim();
        }
    }

    private bool Pinned(ChatMemoryMessage m) => rule.PinSystemMessages && m.Role == "system";

    private void Trim()
    {
        var window = maxTurns * 2;
        if (rule.IsSeedRule)
        {
            _counted.RemoveRange(0, _counted.Count - window);
            return;
        }

        var units = Units(_counted);
        var dropped = 0;
        var remaining = _counted.Count;
        var u = 0;
        for (; u < units.Count && remaining > window; u++)
        {
            dropped += units[u].Count;
            remaining -= units[u].Count;
        }

        for (; rule.ToolCallAware && u < units.Count && units[u][0].Role == "tool"; u++)
        {
            dropped += units[u].Count;
        }

        _counted.RemoveRange(0, dropped);
    }

    /// <summary>Whole exchanges (a user message up to the next one) where a later user message closes them; elsewhere
    /// an assistant's tool calls with their results, and single messages.</summary>
    private List<List<ChatMemoryMessage>> Units(List<ChatMemoryMessage> counted)
    {
        var units = new List<List<ChatMemoryMessage>>();
        var lastUser = counted.FindLastIndex(m => m.Role == "user");
        for (var i = 0; i < counted.Count;)
        {
            var unit = new List<ChatMemoryMessage> { counted[i] };
            var j = i + 1;
            if (rule.ToolCallAware && counted[i].Role == "user" && i < lastUser)
            {
                for (; counted[j].Role != "user"; j++)
                {
                    unit.Add(counted[j]);
                }
            }
            else if (rule.ToolCallAware && counted[i] is { Role: "assistant", ToolCalls: not null })
            {
                for (; j < counted.Count && counted[j].Role == "tool"; j++)
                {
                    unit.Add(counted[j]);
                }
            }

            units.Add(unit);
            i = j;
        }

        return units;
    }
}

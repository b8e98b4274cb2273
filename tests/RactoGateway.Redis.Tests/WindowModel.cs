namespace RactoGateway.Redis.Tests;

/// <summary>
/// An in-memory model of a conversation under the window rules, written independently of the library: the stored
/// list is partitioned into units up front, then whole units are dropped from the oldest end.
/// </summary>
public sealed class WindowModel(int maxTurns, ChatMemoryWindow rule)
{
    public List<ChatMemoryMessage> Stored { get; } = [];

    public void Clear() => Stored.Clear();

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

            Stored.Add(message);
            added++;
        }

        if (added > 0 && Stored.Count > maxTurns * 2)
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
            Stored.RemoveRange(0, Stored.Count - window);
            return;
        }

        var counted = Stored.Where(m => !Pinned(m)).ToList();
        var units = Units(counted);
        var dropped = new HashSet<ChatMemoryMessage>(ReferenceEqualityComparer.Instance);
        var remaining = counted.Count;
        var u = 0;
        for (; u < units.Count && remaining > window; u++)
        {
            units[u].ForEach(m => dropped.Add(m));
            remaining -= units[u].Count;
        }

        for (; rule.ToolCallAware && u < units.Count && units[u][0].Role == "tool"; u++)
        {
            units[u].ForEach(m => dropped.Add(m));
        }

        Stored.RemoveAll(dropped.Contains);
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

namespace RactoGateway.Redis.Tests;

/// <summary>
/// <see cref="WindowPolicy.FitToBudget"/>: a budgeted read keeps the newest messages that fit, drops whole units (tool
/// calls with their results; under ToolCallAware whole exchanges), never starts with an orphan tool result, and always
/// keeps the pinned system messages (bounded by MaxPinnedMessages, the first one staying). Directly, without a server:
/// the integration tier's TokenBudgetTests read the same rules back through Redis.
/// </summary>
public sealed class WindowPolicyTests
{
    /// <summary>One token per message plus one per character: budgets are easy to reason about.</summary>
    private sealed class CharCounter : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => 1 + message.Content.Length;
    }

    /// <summary>Exactly one token per message.</summary>
    private sealed class OneToken : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => 1;
    }

    private static ChatMemoryMessage U(string text) => new(ChatRoles.User, text);

    private static ChatMemoryMessage A(string text) => new(ChatRoles.Assistant, text);

    private static ChatMemoryMessage S(string text) => new(ChatRoles.System, text);

    private static ChatMemoryMessage Calls(string text, params string[] ids) =>
        new(ChatRoles.Assistant, text) { ToolCalls = [.. ids.Select(id => new ChatMemoryToolCall(id, "f", "{}"))] };

    private static ChatMemoryMessage Result(string id) => new(ChatRoles.Tool, "r" + id) { ToolCallId = id };

    private static string[] Contents(IEnumerable<ChatMemoryMessage> messages) => [.. messages.Select(m => m.Content)];

    private static List<ChatMemoryMessage> Fit(IEnumerable<ChatMemoryMessage> messages, int maxTokens, ChatMemoryWindow? window = null, IChatTokenCounter? counter = null) =>
        WindowPolicy.FitToBudget([.. messages], maxTokens, counter ?? new CharCounter(), window ?? new ChatMemoryWindow());

    [Fact]
    public void Under_the_seed_rule_the_newest_messages_that_fit_are_kept_and_the_oldest_go_first()
    {
        ChatMemoryMessage[] history = [U("aaaa"), A("bbbb"), U("cc"), A("d")];

        Assert.Equal(["cc", "d"], Contents(Fit(history, 5)));
        Assert.Equal(["cc", "d"], Contents(Fit(history, 9)));        // "bbbb" costs 5: 10 would be needed
        Assert.Equal(["bbbb", "cc", "d"], Contents(Fit(history, 10)));
        Assert.Equal(["aaaa", "bbbb", "cc", "d"], Contents(Fit(history, 15)));
        Assert.Equal(["d"], Contents(Fit(history, 2)));
        Assert.Empty(Fit(history, 1));
        Assert.Empty(Fit(history, 0));
        Assert.Empty(Fit([], 100));
    }

    [Fact]
    public void Tool_calls_and_their_results_go_as_one_unit_under_every_rule()
    {
        // The question costs 2; assistant(a,b) and its two results 1 + 3 + 3 = 7; the final answer 3.
        ChatMemoryMessage[] history = [U("q"), Calls("", "a", "b"), Result("a"), Result("b"), A("ok")];

        foreach (var window in new[] { new ChatMemoryWindow(), new ChatMemoryWindow { PinSystemMessages = true }, new ChatMemoryWindow { ToolCallAware = true } })
        {
            Assert.Equal(["q", "", "ra", "rb", "ok"], Contents(Fit(history, 12, window)));

            // 10 fits the group and the answer but not the question: the group is kept whole.
            Assert.Equal(["", "ra", "rb", "ok"], Contents(Fit(history, 10, window)));

            // One token short of the group: it goes whole (not the call alone, nor the last result alone).
            Assert.Equal(["ok"], Contents(Fit(history, 9, window)));
            Assert.Equal(["ok"], Contents(Fit(history, 3, window)));
        }
    }

    [Fact]
    public void A_history_never_starts_with_a_tool_result_whose_call_is_gone()
    {
        // The list itself starts with orphans (the seed rule trimmed their call away in storage).
        ChatMemoryMessage[] history = [Result("x"), Result("y"), U("q"), A("a")];

        Assert.Equal(["q", "a"], Contents(Fit(history, 1000)));
        Assert.Equal(["a"], Contents(Fit(history, 2)));
    }

    [Fact]
    public void Tool_call_aware_drops_a_whole_exchange_but_the_last_exchange_message_by_message()
    {
        var window = new ChatMemoryWindow { ToolCallAware = true };
        ChatMemoryMessage[] history = [U("q1"), A("a1"), A("b1"), U("q2"), Calls("", "c"), Result("c"), A("a2")];

        // Exchange 1 costs 9; exchange 2 costs 3 + 1 + 3 + 3 = 10.
        Assert.Equal(["q1", "a1", "b1", "q2", "", "rc", "a2"], Contents(Fit(history, 19, window)));
        Assert.Equal(["q2", "", "rc", "a2"], Contents(Fit(history, 18, window)));   // not "b1" alone: the exchange goes whole
        Assert.Equal(["q2", "", "rc", "a2"], Contents(Fit(history, 10, window)));

        // The last exchange is longer than the budget: it is trimmed message by message, its tool group whole.
        Assert.Equal(["", "rc", "a2"], Contents(Fit(history, 9, window)));
        Assert.Equal(["a2"], Contents(Fit(history, 6, window)));

        // Under the seed rule the first exchange goes message by message.
        Assert.Equal(["b1", "q2", "", "rc", "a2"], Contents(Fit(history, 13)));
    }

    [Fact]
    public void Pinned_system_messages_are_always_kept_in_place_and_their_tokens_count_first()
    {
        var window = new ChatMemoryWindow { PinSystemMessages = true };
        ChatMemoryMessage[] history = [S("sys"), U("aaaa"), A("bbbb"), S("late"), U("cc"), A("d")];

        // Pins cost 4 + 5 = 9; 9 + 5 (cc, d) = 14.
        Assert.Equal(["sys", "late", "cc", "d"], Contents(Fit(history, 14, window)));
        Assert.Equal(["sys", "bbbb", "late", "cc", "d"], Contents(Fit(history, 19, window)));

        // A budget smaller than the pins alone still returns the pins, and nothing else.
        Assert.Equal(["sys", "late"], Contents(Fit(history, 3, window)));

        // Without pinning, system messages are ordinary messages and go oldest first.
        Assert.Equal(["late", "cc", "d"], Contents(Fit(history, 10)));
    }

    [Fact]
    public void A_pinned_message_inside_a_tool_group_does_not_split_it()
    {
        var window = new ChatMemoryWindow { PinSystemMessages = true };
        ChatMemoryMessage[] history = [U("q"), Calls("", "a"), S("p"), Result("a"), A("ok")];

        // The group (assistant + result) costs 1 + 3; the pin 2; the answer 3.
        Assert.Equal(["", "p", "ra", "ok"], Contents(Fit(history, 9, window)));
        Assert.Equal(["p", "ok"], Contents(Fit(history, 8, window)));
    }

    [Fact]
    public void More_pins_than_MaxPinnedMessages_keep_the_first_and_the_newest()
    {
        var window = new ChatMemoryWindow { PinSystemMessages = true, MaxPinnedMessages = 3 };
        ChatMemoryMessage[] history = [S("s1"), U("q"), S("s2"), S("s3"), A("a"), S("s4"), S("s5")];

        Assert.Equal(["s1", "q", "a", "s4", "s5"], Contents(Fit(history, 1000, window)));

        // At the bound nothing is left out; with one pin allowed only the first stays.
        Assert.Equal(Contents(history), Contents(Fit(history, 1000, new ChatMemoryWindow { PinSystemMessages = true, MaxPinnedMessages = 5 })));
        Assert.Equal(["s1", "q", "a"], Contents(Fit(history, 1000, new ChatMemoryWindow { PinSystemMessages = true, MaxPinnedMessages = 1 })));
    }

    [Fact]
    public void The_input_list_is_not_changed()
    {
        List<ChatMemoryMessage> history = [S("s1"), S("s2"), U("q"), A("a")];
        var before = history.ToArray();

        WindowPolicy.FitToBudget(history, 1, new CharCounter(), new ChatMemoryWindow { PinSystemMessages = true, MaxPinnedMessages = 1 });

        Assert.Equal(before, history);
    }

    public static TheoryData<int, bool, bool> Scale => new()
    {
        { 1, false, false }, { 2, true, false }, { 3, false, true }, { 4, true, true }, { 5, true, true },
    };

    /// <summary>
    /// 5,000 messages with ids, pins, tool groups (some with a pin inside, some answered partly), orphan results and
    /// custom roles, under many budgets, against a reference written the other way round: split the non-pinned
    /// messages into units from the front, then take whole units from the back while they fit after the pins.
    /// </summary>
    [Theory]
    [MemberData(nameof(Scale))]
    public void Five_thousand_messages_with_pins_and_tool_groups_match_the_reference_under_every_budget(int seed, bool pin, bool toolCallAware)
    {
        var random = new Random(seed);
        var window = new ChatMemoryWindow { PinSystemMessages = pin, ToolCallAware = toolCallAware, MaxPinnedMessages = 40 };
        var history = Generate(random, 5_000);
        var counter = new CharCounter();
        Assert.True(history.Count(m => m.Role == ChatRoles.System) > window.MaxPinnedMessages, "the generator should exceed the pin bound");

        var total = history.Sum(counter.CountTokens);
        var budgets = new[] { 0, 1, 7, 100, 1_000, 5_000, total / 2, total - 1, total, total + 1, int.MaxValue }
            .Concat(Enumerable.Range(0, 40).Select(_ => random.Next(total + 10)));
        foreach (var budget in budgets)
        {
            var actual = WindowPolicy.FitToBudget([.. history], budget, counter, window);
            var expected = Reference(history, budget, counter, window);
            Assert.True(expected.SequenceEqual(actual), $"seed {seed}, budget {budget}: {actual.Count} kept, the reference keeps {expected.Count}");

            // What a reader relies on, whatever the reference says.
            Assert.Equal(actual.Count, actual.Select(m => m.MessageId).Distinct().Count());
            var counted = actual.Where(m => !(pin && m.Role == ChatRoles.System)).ToList();
            Assert.True(counted.Sum(counter.CountTokens) + (pin ? actual.Where(m => m.Role == ChatRoles.System).Sum(counter.CountTokens) : 0) <= budget || counted.Count == 0);
            Assert.False(counted.Count > 0 && counted[0].Role == ChatRoles.Tool, $"budget {budget}: the kept messages start with a tool result");
            if (pin)
            {
                Assert.Equal(history.First(m => m.Role == ChatRoles.System), actual.First(m => m.Role == ChatRoles.System));
                Assert.Equal(window.MaxPinnedMessages, actual.Count(m => m.Role == ChatRoles.System));
            }
        }
    }

    private static List<ChatMemoryMessage> Generate(Random random, int count)
    {
        var messages = new List<ChatMemoryMessage>(count);
        var n = 0;
        string Id() => "m" + n++;
        string Text() => new('x', random.Next(0, 12));
        while (messages.Count < count)
        {
            switch (random.Next(10))
            {
                case 0:
                    messages.Add(new ChatMemoryMessage(ChatRoles.System, Text()) { MessageId = Id() });
                    break;
                case 1 or 2:
                    // A tool group: one to three calls, results in any order, maybe one missing, maybe a pin inside.
                    var ids = Enumerable.Range(0, random.Next(1, 4)).Select(_ => "call" + n++).ToArray();
                    messages.Add(new ChatMemoryMessage(ChatRoles.Assistant, random.Next(3) == 0 ? Text() : "")
                    {
                        MessageId = Id(),
                        ToolCalls = [.. ids.Select(id => new ChatMemoryToolCall(id, "f", "{}"))],
                    });
                    foreach (var id in ids.OrderBy(_ => random.Next()).Skip(random.Next(4) == 0 ? 1 : 0))
                    {
                        if (random.Next(8) == 0)
                        {
                            messages.Add(new ChatMemoryMessage(ChatRoles.System, Text()) { MessageId = Id() });
                        }

                        messages.Add(new ChatMemoryMessage(ChatRoles.Tool, Text()) { ToolCallId = id, MessageId = Id() });
                    }

                    break;
                case 3:
                    // An orphan result (its call trimmed in storage) or a custom role.
                    messages.Add(random.Next(2) == 0
                        ? new ChatMemoryMessage(ChatRoles.Tool, Text()) { ToolCallId = "gone" + n, MessageId = Id() }
                        : new ChatMemoryMessage("critic", Text()) { MessageId = Id() });
                    break;
                case 4 or 5 or 6:
                    messages.Add(new ChatMemoryMessage(ChatRoles.User, Text()) { MessageId = Id() });
                    break;
                default:
                    messages.Add(new ChatMemoryMessage(ChatRoles.Assistant, Text()) { MessageId = Id() });
                    break;
            }
        }

        return messages;
    }

    /// <summary>The documented rule, computed differently from the library: bound the pins, split into units from the
    /// front, keep the longest run of whole units at the back that fits after the pins, then drop leading results.</summary>
    private static List<ChatMemoryMessage> Reference(List<ChatMemoryMessage> history, int budget, IChatTokenCounter counter, ChatMemoryWindow window)
    {
        bool IsPin(ChatMemoryMessage m) => window.PinSystemMessages && m.Role == ChatRoles.System;

        var messages = history;
        if (window.PinSystemMessages)
        {
            var pins = history.Where(IsPin).ToList();
            var leftOut = pins.Skip(1).Take(Math.Max(0, pins.Count - window.MaxPinnedMessages)).ToHashSet(ReferenceEqualityComparer.Instance);
            messages = [.. history.Where(m => !leftOut.Contains(m))];
        }

        // Units of indexes into messages (non-pinned only; a pin inside a tool group does not end it).
        var units = new List<List<int>>();
        var i = 0;
        while (i < messages.Count)
        {
            if (IsPin(messages[i]))
            {
                i++;
                continue;
            }

            var unit = new List<int> { i };
            var m = messages[i];
            var j = i + 1;
            var nextUser = messages.FindIndex(i + 1, x => x.Role == ChatRoles.User);
            if (window.ToolCallAware && m.Role == ChatRoles.User && nextUser > 0)
            {
                for (; j < nextUser; j++)
                {
                    if (!IsPin(messages[j]))
                    {
                        unit.Add(j);
                    }
                }
            }
            else if (m.Role == ChatRoles.Assistant && m.ToolCalls is not null)
            {
                for (; j < messages.Count && (messages[j].Role == ChatRoles.Tool || IsPin(messages[j])); j++)
                {
                    if (!IsPin(messages[j]))
                    {
                        unit.Add(j);
                    }
                }
            }

            units.Add(unit);
            i = j;
        }

        long left = (long)budget - messages.Where(IsPin).Sum(counter.CountTokens);
        var keptUnits = 0;
        for (var u = units.Count - 1; u >= 0; u--)
        {
            var cost = units[u].Sum(k => counter.CountTokens(messages[k]));
            if (cost > left)
            {
                break;
            }

            left -= cost;
            keptUnits++;
        }

        var kept = units.Skip(units.Count - keptUnits).SelectMany(u => u).ToList();
        while (kept.Count > 0 && messages[kept[0]].Role == ChatRoles.Tool)
        {
            kept.RemoveAt(0);
        }

        var keep = kept.ToHashSet();
        return [.. messages.Where((m, k) => IsPin(m) || keep.Contains(k))];
    }
}

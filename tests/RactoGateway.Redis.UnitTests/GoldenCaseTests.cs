using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The golden cases (tests/golden/append-cases.json) against the C# twin of append.lua's window: for every case whose
/// rule WindowPolicy has, the window it keeps of the list before and the appended messages is the case's list after.
/// A rolling summary and its pending messages are set aside on both sides (no C# rule evicts into them); one token per
/// counted message and none per pinned one, so that the budget is the window.
/// </summary>
public sealed class GoldenCaseTests
{
    private sealed class WindowCounter(bool pin) : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => pin && message.Role == ChatRoles.System ? 0 : 1;
    }

    public static TheoryData<string> Cases() => [.. GoldenCase.All.Where(c => c.CSharp).Select(c => c.Name)];

    [Theory, MemberData(nameof(Cases))]
    public void WindowPolicy_keeps_the_golden_window(string name)
    {
        var golden = GoldenCase.All.Single(c => c.Name == name);
        var config = golden.Config();
        var input = Window(golden.Before).Concat(golden.Append ?? []).Select(e => MessageCodec.TryDecode(GoldenCase.Bytes(e))!).ToList();
        if (golden.Pin)
        {
            // The pinned run is a layout of the stored list (system messages at its head), not a window rule.
            input = [.. input.Where(m => m.Role == ChatRoles.System), .. input.Where(m => m.Role != ChatRoles.System)];
        }

        var kept = WindowPolicy.FitToBudget(input, config.WindowSize, new WindowCounter(golden.Pin), config.Window);

        Assert.Equal(Window(golden.After).Select(e => MessageCodec.TryDecode(GoldenCase.Bytes(e))), kept);
    }

    public static TheoryData<string> ToolCases() => [.. GoldenCase.All.Where(c => c.Tools).Select(c => c.Name)];

    /// <summary>
    /// The window rule and the model rule agree on what a unit is: under tool-call-aware windows, the window a case keeps
    /// (append.lua's, on every server) is one that ModelHistory sends as stored, leaving out nothing but a trailing tool
    /// call whose results have not been appended yet. A window starting at an orphan tool result, or keeping a call
    /// without its results in the middle, would lose messages here.
    /// </summary>
    [Theory, MemberData(nameof(ToolCases))]
    public void ModelHistory_sends_the_golden_window_as_stored(string name)
    {
        var golden = GoldenCase.All.Single(c => c.Name == name);
        var window = Window(golden.After).Select(e => MessageCodec.TryDecode(GoldenCase.Bytes(e))!).ToList();

        var sent = ModelHistory.Filter(window);

        Assert.Equal(window.Take(sent.Count), sent);
        var left = window.Skip(sent.Count).ToList();
        if (left.Count > 0)
        {
            // Only the newest exchange may be left out, and only because it waits for its results.
            Assert.Equal(ChatRoles.Assistant, left[0].Role);
            Assert.NotNull(left[0].ToolCalls);
            Assert.All(left.Skip(1), m => Assert.Equal(ChatRoles.Tool, m.Role));
            var answered = left.Skip(1).Select(m => m.ToolCallId).ToHashSet();
            Assert.Contains(left[0].ToolCalls!, call => !answered.Contains(call.Id));
        }
    }

    [Fact]
    public void There_are_golden_cases_for_both_languages()
    {
        Assert.True(GoldenCase.All.Count >= 30);
        Assert.True(GoldenCase.All.Count(c => c.CSharp) >= 25);
        Assert.True(GoldenCase.All.Count(c => c.Tools) >= 8);
    }

    /// <summary>The list without its rolling summary and the pending elements after it.</summary>
    private static List<string> Window(IReadOnlyList<string> list)
    {
        var summary = list.Select((e, i) => (e, i)).FirstOrDefault(p => SummaryElement.TryReadHeader(GoldenCase.Bytes(p.e), out _));
        if (summary.e is null)
        {
            return [.. list];
        }

        SummaryElement.TryReadHeader(GoldenCase.Bytes(summary.e), out var header);
        return [.. list.Take(summary.i), .. list.Skip(summary.i + 1 + (int)header.Pending)];
    }
}

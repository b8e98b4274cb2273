namespace RactoGateway.Redis.Tests;

/// <summary>Pinned system messages at scale: thousands of pins never make an append fail or lose the system prompt.</summary>
public class WindowPinTests
{
    private static ChatMemoryMessage U(string text) => new("user", text);

    private static ChatMemoryMessage A(string text) => new("assistant", text);

    private static ChatMemoryMessage S(string text) => new("system", text);

    /// <summary>Issue 9, defect 1: past about 8,000 pins ahead of the trim point, the script trimmed and then failed on an
    /// unchunked unpack, so the conversation lost every pin (the system prompt too) and later appends failed.</summary>
    [Theory, AllServers]
    public async Task Nine_thousand_pinned_messages_ahead_of_the_trim_point_neither_fail_an_append_nor_lose_the_system_prompt(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 1; c.Window.PinSystemMessages = true; });
        await bed.Memory.AppendAsync("c", S("You are terse."));
        for (var b = 0; b < 9; b++)
        {
            await bed.Memory.AppendManyAsync("c", [.. Enumerable.Range(0, 1000).Select(i => S($"note {b}-{i}")), U($"q{b}"), A($"a{b}")]);
        }

        await bed.Memory.AppendTurnAsync("c", "last q", "last a");
        await bed.Memory.AppendTurnAsync("c", "after q", "after a");

        var history = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(S("You are terse."), history[0]);
        Assert.Equal([U("after q"), A("after a")], history.TakeLast(2));
        Assert.All(history.SkipLast(2), m => Assert.Equal("system", m.Role));
    }
}

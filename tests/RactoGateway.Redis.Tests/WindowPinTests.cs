using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Pinned system messages: thousands of them never make an append fail or lose the system prompt; they are bounded by
/// <see cref="ChatMemoryWindow.MaxPinnedMessages"/> (the first stays); lists written by earlier versions, with system
/// messages anywhere, migrate to the head run without losing one.
/// </summary>
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

        // Bounded: the system prompt, then the newest MaxPinnedMessages - 1 notes, oldest first; then the window.
        var max = ChatMemoryWindow.DefaultMaxPinnedMessages;
        Assert.Equal(max + 2, history.Count);
        Assert.Equal(Enumerable.Range(1000 - max + 1, max - 1).Select(i => S($"note 8-{i}")), history.Skip(1).Take(max - 1));
    }

    [Theory, AllServers]
    public async Task With_a_large_bound_nine_thousand_pins_are_all_kept_in_order(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 1;
            c.Window.PinSystemMessages = true;
            c.Window.MaxPinnedMessages = 20_000;
        });
        var pins = new List<ChatMemoryMessage> { S("You are terse.") };
        await bed.Memory.AppendAsync("c", pins[0]);
        for (var b = 0; b < 9; b++)
        {
            var notes = Enumerable.Range(0, 1000).Select(i => S($"note {b}-{i}")).ToList();
            pins.AddRange(notes);
            await bed.Memory.AppendManyAsync("c", [U($"q{b}"), .. notes, A($"a{b}")]);
        }

        await bed.Memory.AppendTurnAsync("c", "last q", "last a");

        Assert.Equal([.. pins, U("last q"), A("last a")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task One_message_at_a_time_behind_one_pinned_prompt_keeps_the_prompt_and_the_newest_window(string server)
    {
        // The script's straight-line path for the steady state (one pin at the head, one message in, one out).
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 2; c.Window.PinSystemMessages = true; });
        await bed.Memory.AppendAsync("c", S("prompt"));
        var sent = new List<ChatMemoryMessage>();
        for (var i = 0; i < 50; i++)
        {
            var message = i % 2 == 0 ? U($"q{i}") : A($"a{i}");
            sent.Add(message);
            await bed.Memory.AppendAsync("c", message);
            Assert.Equal([S("prompt"), .. sent.TakeLast(4)], await bed.Memory.GetHistoryAsync("c"));
        }
    }

    [Theory, AllServers]
    public async Task Past_the_bound_the_oldest_pin_after_the_first_goes(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Window.PinSystemMessages = true;
            c.Window.MaxPinnedMessages = 3;
        });
        await bed.Memory.AppendAsync("c", S("prompt"));
        for (var t = 1; t <= 5; t++)
        {
            await bed.Memory.AppendManyAsync("c", [U($"q{t}"), S($"s{t}"), A($"a{t}")]);
        }

        Assert.Equal([S("prompt"), S("s4"), S("s5"), U("q4"), A("a4"), U("q5"), A("a5")], await bed.Memory.GetHistoryAsync("c"));

        // The bound holds without trimming too: a system message alone still evicts the oldest after the first.
        await bed.Memory.AppendAsync("c", S("s6"));
        Assert.Equal([S("prompt"), S("s5"), S("s6"), U("q4"), A("a4"), U("q5"), A("a5")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_bound_of_one_keeps_only_the_original_system_prompt(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 1;
            c.Window.PinSystemMessages = true;
            c.Window.MaxPinnedMessages = 1;
        });
        await bed.Memory.AppendManyAsync("c", [S("prompt"), U("q1"), S("later"), A("a1"), S("later still")]);

        Assert.Equal([S("prompt"), U("q1"), A("a1")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task Storage_stays_bounded_by_window_and_pins_over_thousands_of_turns_with_system_messages(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 3;
            c.Window.PinSystemMessages = true;
            c.Window.ToolCallAware = true;
            c.Window.MaxPinnedMessages = 4;
        });
        await bed.Memory.AppendAsync("c", S("prompt"));
        for (var t = 0; t < 2000; t++)
        {
            await bed.Memory.AppendManyAsync("c", t % 3 == 0 ? [U($"q{t}"), S($"s{t}"), A($"a{t}")] : [U($"q{t}"), A($"a{t}")]);
            Assert.InRange(await bed.Memory.CountAsync("c"), 1, (3 * 2) + 4);
        }

        var history = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal([S("prompt"), S("s1992"), S("s1995"), S("s1998"), U("q1997"), A("a1997"), U("q1998"), A("a1998"), U("q1999"), A("a1999")], history);
    }

    /// <summary>The previous version left system messages where they were appended (and moved the ones ahead of a trim
    /// point to the head). Such a list is read as it is; trimming moves every system message it reaches to the head run,
    /// so none is lost. Until then, one still in the body takes a place in the window.</summary>
    [Theory, AllServers]
    public async Task A_list_written_by_the_previous_version_migrates_to_the_head_run_without_losing_a_pin(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 2; c.Window.PinSystemMessages = true; });
        RedisValue[] legacy =
        [
            """{"role":"system","content":"s0"}""",
            """{"role":"user","content":"q1"}""",
            """{"role": "system", "content": "s1"}""", // Python's json.dumps spacing
            """{"role":"assistant","content":"a1"}""",
            """{"role":"user","content":"q2"}""",
            """{"role":"system","content":"s2"}""",
            """{"role":"assistant","content":"a2"}""",
        ];
        await bed.Raw.ListRightPushAsync(bed.Key("c"), legacy);

        await bed.Memory.AppendTurnAsync("c", "q3", "a3");

        // s0 was the head run; s1 and s2 were met while trimming and joined it, in order. s2 held a place in the window
        // until it was met, so q2 went with q1 and a1.
        Assert.Equal([S("s0"), S("s1"), S("s2"), A("a2"), U("q3"), A("a3")], await bed.Memory.GetHistoryAsync("c"));

        await bed.Memory.AppendTurnAsync("c", "q4", "a4");
        Assert.Equal([S("s0"), S("s1"), S("s2"), U("q3"), A("a3"), U("q4"), A("a4")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_previous_version_head_run_longer_than_the_bound_is_bounded_by_the_next_append(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 1; c.Window.PinSystemMessages = true; });
        await bed.Raw.ListRightPushAsync(bed.Key("c"), [
            .. Enumerable.Range(0, 9000).Select(i => (RedisValue)$$"""{"role":"system","content":"s{{i}}"}"""),
            """{"role":"user","content":"q1"}""",
            """{"role":"assistant","content":"a1"}""",
        ]);

        await bed.Memory.AppendTurnAsync("c", "q2", "a2");

        var max = ChatMemoryWindow.DefaultMaxPinnedMessages;
        Assert.Equal(
            [S("s0"), .. Enumerable.Range(9000 - max + 1, max - 1).Select(i => S($"s{i}")), U("q2"), A("a2")],
            await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_retry_is_still_recognised_by_its_id_under_the_pin_rule(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 1; c.Window.PinSystemMessages = true; c.Window.ToolCallAware = true; });
        var prompt = S("prompt") with { MessageId = "p" };
        var user = U("q") with { MessageId = "u" };
        var assistant = A("a") with { MessageId = "a" };

        await bed.Memory.AppendManyAsync("c", [prompt, user, assistant]);
        await bed.Memory.AppendManyAsync("c", [prompt, user, assistant]);
        await bed.Memory.AppendTurnAsync("c", user, assistant);

        Assert.Equal([prompt, user, assistant], await bed.Memory.GetHistoryAsync("c"));
    }

    [Fact]
    public void MaxPinnedMessages_below_one_is_refused_naming_the_setting()
    {
        var config = new ChatMemoryConfig { Window = { PinSystemMessages = true, MaxPinnedMessages = 0 } };

        Assert.Contains("Window.MaxPinnedMessages", config.GetValidationError(), StringComparison.Ordinal);
        Assert.Contains("MaxPinnedMessages", Assert.Throws<ArgumentException>(() => new RedisChatMemory("127.0.0.1:1", config)).Message, StringComparison.Ordinal);
        Assert.Equal(32, new ChatMemoryWindow().MaxPinnedMessages);
    }
}

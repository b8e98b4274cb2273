namespace RactoGateway.Redis.Tests;

/// <summary>The window rules, case by case: pinned system messages, whole tool exchanges, turns never split.</summary>
public class WindowTests
{
    private static readonly ChatMemoryToolCall Weather = new("call_1", "get_weather", """{"city":"Paris"}""");

    private static ChatMemoryMessage U(string text) => new("user", text);

    private static ChatMemoryMessage A(string text) => new("assistant", text);

    private static ChatMemoryMessage S(string text) => new("system", text);

    private static ChatMemoryMessage Calls(params ChatMemoryToolCall[] calls) => new("assistant", "") { ToolCalls = calls };

    private static ChatMemoryMessage Result(string callId, string text) => new("tool", text) { ToolCallId = callId };

    [Theory, AllServers]
    public async Task Pinned_system_message_survives_100_turns_and_is_not_counted(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 3; c.Window.PinSystemMessages = true; });
        await bed.Memory.AppendAsync("c", S("You are terse."));
        for (var t = 0; t < 100; t++)
        {
            await bed.Memory.AppendTurnAsync("c", $"q{t}", $"a{t}");
        }

        var history = await bed.Memory.GetHistoryAsync("c");

        Assert.Equal([S("You are terse."), U("q97"), A("a97"), U("q98"), A("a98"), U("q99"), A("a99")], history);
    }

    [Theory, AllServers]
    public async Task Without_pinning_the_system_message_is_trimmed_like_the_seed(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 1);
        await bed.Memory.AppendAsync("c", S("rules"));
        await bed.Memory.AppendTurnAsync("c", "q", "a");

        Assert.Equal([U("q"), A("a")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task Pinned_system_messages_form_a_run_at_the_head_oldest_first(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 2; c.Window.PinSystemMessages = true; });
        await bed.Memory.AppendManyAsync("c", [S("s1"), U("q1"), A("a1"), S("s2"), U("q2"), A("a2"), U("q3"), S("s3"), A("a3")]);

        Assert.Equal([S("s1"), S("s2"), S("s3"), U("q2"), A("a2"), U("q3"), A("a3")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_pinned_system_message_appended_mid_conversation_moves_to_the_head_at_once(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 5; c.Window.PinSystemMessages = true; });
        await bed.Memory.AppendManyAsync("c", [S("s1"), U("q1"), A("a1")]);

        await bed.Memory.AppendAsync("c", S("s2"));    // nothing is trimmed: the window holds 10
        await bed.Memory.AppendAsync("c", U("q2"));

        Assert.Equal([S("s1"), S("s2"), U("q1"), A("a1"), U("q2")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_tool_exchange_straddling_the_trim_point_is_dropped_whole(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 2; c.Window.ToolCallAware = true; });
        // [calls, result] would straddle: the count rule alone would keep the orphan result.
        await bed.Memory.AppendManyAsync("c", [Calls(Weather), Result("call_1", "21C"), A("It is 21C."), U("thanks"), A("welcome")]);

        var history = await bed.Memory.GetHistoryAsync("c");

        Assert.Equal([A("It is 21C."), U("thanks"), A("welcome")], history);
    }

    [Theory, AllServers]
    public async Task The_seed_rule_would_leave_an_orphan_tool_result(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 2);
        await bed.Memory.AppendManyAsync("c", [Calls(Weather), Result("call_1", "21C"), A("It is 21C."), U("thanks"), A("welcome")]);

        Assert.Equal("tool", (await bed.Memory.GetHistoryAsync("c"))[0].Role);
    }

    [Theory, AllServers]
    public async Task Several_tool_results_for_one_call_message_go_with_it(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 3; c.Window.ToolCallAware = true; });
        var calls = Calls(Weather, new ChatMemoryToolCall("call_2", "get_time", "{}"), new ChatMemoryToolCall("call_3", "get_news", "{}"));
        await bed.Memory.AppendManyAsync("c", [A("hello"), calls, Result("call_1", "21C"), Result("call_2", "noon"), Result("call_3", "none"), A("Summary.")]);

        await bed.Memory.AppendAsync("c", A("more"));

        Assert.Equal([calls, Result("call_1", "21C"), Result("call_2", "noon"), Result("call_3", "none"), A("Summary."), A("more")], await bed.Memory.GetHistoryAsync("c"));

        await bed.Memory.AppendAsync("c", A("last"));

        Assert.Equal([A("Summary."), A("more"), A("last")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task Whole_exchanges_are_trimmed_so_a_turn_is_never_split(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 2; c.Window.ToolCallAware = true; });
        await bed.Memory.AppendAsync("c", U("odd one out"));
        await bed.Memory.AppendTurnAsync("c", "q1", "a1");
        await bed.Memory.AppendTurnAsync("c", "q2", "a2");

        Assert.Equal([U("q1"), A("a1"), U("q2"), A("a2")], await bed.Memory.GetHistoryAsync("c"));

        await bed.Memory.AppendManyAsync("c", [U("q3"), Calls(Weather), Result("call_1", "21C"), A("a3")]);

        Assert.Equal([U("q3"), Calls(Weather), Result("call_1", "21C"), A("a3")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task An_exchange_longer_than_the_window_is_trimmed_message_by_message_with_tool_groups_whole(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 1; c.Window.ToolCallAware = true; });
        await bed.Memory.AppendManyAsync("c", [U("q"), Calls(Weather), Result("call_1", "21C"), A("a")]);

        Assert.Equal([A("a")], await bed.Memory.GetHistoryAsync("c"));
        Assert.Equal(1, await bed.Memory.CountAsync("c"));
    }

    [Theory, AllServers]
    public async Task Both_rules_together(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Window.PinSystemMessages = true;
            c.Window.ToolCallAware = true;
        });
        await bed.Memory.AppendManyAsync("c", [S("rules"), U("q1"), Calls(Weather), S("note"), Result("call_1", "21C"), A("a1"), U("q2"), A("a2")]);

        Assert.Equal([S("rules"), S("note"), U("q2"), A("a2")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_message_id_already_in_the_window_is_not_stored_again(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var question = U("hi") with { MessageId = "m-1" };
        var quoted = U("quote\"d") with { MessageId = "id \"with\" quotes/é" };

        await bed.Memory.AppendAsync("c", question);
        await bed.Memory.AppendAsync("c", question);                    // a client retry
        await bed.Memory.AppendManyAsync("c", [quoted, quoted, question]); // duplicates inside one batch too
        await bed.Memory.AppendAsync("c", question with { MessageId = "m-10" });
        await bed.Memory.AppendAsync("c", question with { MessageId = "m-" });

        Assert.Equal(["m-1", "id \"with\" quotes/é", "m-10", "m-"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.MessageId));
    }

    [Theory, AllServers]
    public async Task A_turn_retried_after_a_timeout_is_stored_once(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var user = U("q") with { MessageId = "t1/u" };
        var assistant = A("a") with { MessageId = "t1/a" };

        await bed.Memory.AppendTurnAsync("c", user, assistant);
        await bed.Memory.AppendTurnAsync("c", user, assistant);

        Assert.Equal([user, assistant], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task Sixty_four_tasks_appending_turns_never_split_a_turn_or_orphan_a_result(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 5; c.Window.ToolCallAware = true; });
        await Task.WhenAll(Enumerable.Range(0, 64).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                if (i % 3 == 0)
                {
                    var call = new ChatMemoryToolCall($"c{t}-{i}", "f", "{}");
                    await bed.Memory.AppendManyAsync("c", [U($"{t}-{i}"), Calls(call), Result(call.Id, "r"), A($"{t}-{i}")]);
                }
                else
                {
                    await bed.Memory.AppendTurnAsync("c", $"{t}-{i}", $"{t}-{i}");
                }
            }
        })));

        var history = await bed.Memory.GetHistoryAsync("c");

        Assert.InRange(history.Count, 1, 10);
        Assert.Equal("user", history[0].Role);
        for (var i = 0; i < history.Count;)
        {
            var tag = history[i].Content;
            Assert.Equal(U(tag), history[i]);
            if (history[i + 1].ToolCalls is { } calls)
            {
                Assert.Equal(Result(calls[0].Id, "r"), history[i + 2]);
                Assert.Equal(A(tag), history[i + 3]);
                i += 4;
            }
            else
            {
                Assert.Equal(A(tag), history[i + 1]);
                i += 2;
            }
        }
    }
}

using System.Text;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Branches (<see cref="IChatMemoryBranches"/>): truncation and forks on every server, at scale, with pins and a
/// rolling summary; refusals write nothing; a fork's retry converges; Python reads the results as ordinary lists.</summary>
public sealed class BranchTests
{
    private static ChatMemoryMessage U(string text) => new("user", text);

    private static ChatMemoryMessage A(string text) => new("assistant", text);

    private static ChatMemoryMessage S(string text) => new("system", text);

    private static async Task<byte[][]> RawAsync(TestBed bed, string id) =>
        [.. (await bed.Raw.ListRangeAsync(bed.Key(id))).Select(e => (byte[])e!)];

    private static void Summarizing(ChatMemoryConfig c, int maxTurns, int maxPending = 1000)
    {
        c.MaxTurns = maxTurns;
        c.Summarize = true;
        c.MaxPendingMessages = maxPending;
        c.Window.PinSystemMessages = true;
    }

    [Theory, AllServers]
    public async Task Truncate_keeps_the_first_messages_GetHistory_lists_and_appends_continue_as_on_a_conversation_that_only_had_them(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 4;
            c.Window.PinSystemMessages = true;
            c.Window.ToolCallAware = true;
            c.Ttl = TimeSpan.FromHours(1);
        });
        await bed.Memory.AppendAsync("c", S("rules"));
        for (var t = 0; t < 20; t++)
        {
            await bed.Memory.AppendTurnAsync("c", $"q{t}", $"a{t}");
        }

        var before = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(9, before.Count); // the pinned prompt and 4 turns
        await bed.Raw.KeyPersistAsync(bed.Key("c"));

        var removed = await bed.Memory.TruncateAsync("c", 4); // the prompt, q16, a16, q17: regenerate a17

        Assert.Equal(5, removed);
        Assert.Equal(before.Take(4), await bed.Memory.GetHistoryAsync("c"));
        Assert.InRange((await bed.Raw.KeyTimeToLiveAsync(bed.Key("c")))!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1)); // restarted as by an append

        // Appends continue exactly as on a conversation that only ever held the kept messages.
        await bed.Memory.AppendManyAsync("o", before.Take(4));
        ChatMemoryMessage[] next = [A("a17 again"), U("q18"), A("a18"), U("q19"), A("a19"), U("q20"), A("a20")];
        foreach (var message in next)
        {
            await bed.Memory.AppendAsync("c", message);
            await bed.Memory.AppendAsync("o", message);
        }

        Assert.Equal(await RawAsync(bed, "o"), await RawAsync(bed, "c"));
        Assert.Equal([S("rules"), U("q17"), A("a17 again"), U("q18"), A("a18"), U("q19"), A("a19"), U("q20"), A("a20")], await bed.Memory.GetHistoryAsync("c"));

        // Everything kept: nothing removed. Nothing kept: the conversation is gone.
        Assert.Equal(0, await bed.Memory.TruncateAsync("c", 9));
        Assert.Equal(9, await bed.Memory.TruncateAsync("c", 0));
        Assert.False(await bed.Raw.KeyExistsAsync(bed.Key("c")));
        Assert.Equal(0, await bed.Memory.TruncateAsync("never", 0));
    }

    [Theory, AllServers]
    public async Task At_scale_truncate_and_fork_keep_the_pins_the_summary_and_its_pending_byte_for_byte_and_both_branches_diverge(string server)
    {
        const int Messages = 2000, MaxTurns = 400;
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, MaxTurns, maxPending: 2000));
        await bed.Memory.AppendManyAsync("c", [S("You are terse."), S("Answer in English.")]);
        for (var at = 0; at < Messages; at += 100)
        {
            await bed.Memory.AppendManyAsync("c", Enumerable.Range(at, 100).Select(n => n % 2 == 0 ? U($"m{n:D4}") : A($"m{n:D4}")));
        }

        var summarizer = new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold });
        Assert.Equal(Messages - (2 * MaxTurns), await summarizer.SummarizePendingAsync("c"));
        await bed.Memory.AppendManyAsync("c", Enumerable.Range(Messages, 100).Select(n => n % 2 == 0 ? U($"m{n:D4}") : A($"m{n:D4}")));
        // [2 pins][summary: 1200 folded, 100 pending][100 pending][800 window]
        var raw = await RawAsync(bed, "c");
        var history = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(2 + 1 + 100 + 800, raw.Length);
        Assert.Equal(2 + 1 + 800, history.Count);
        Assert.True(history[2].IsSummary);

        // Into the summary: refused, nothing written (the list compared byte for byte), for truncate and fork alike.
        var intoSummary = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.Memory.TruncateAsync("c", 2));
        Assert.Equal("keep", intoSummary.ParamName);
        Assert.Contains("at least 3", intoSummary.Message, StringComparison.Ordinal);
        Assert.Equal("keep", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.Memory.ForkAsync("c", "f0", 0))).ParamName);
        var beyond = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.Memory.TruncateAsync("c", 804));
        Assert.Contains("at most 803", beyond.Message, StringComparison.Ordinal);
        Assert.Equal(raw, await RawAsync(bed, "c"));
        Assert.False(await bed.Raw.KeyExistsAsync(bed.Key("f0")));

        // A fork of the first 503 messages (pins, summary, 500 window messages) carries the pending part too.
        Assert.Equal(2 + 1 + 100 + 500, await bed.Memory.ForkAsync("c", "f", 503));
        Assert.Equal(raw.Take(603), await RawAsync(bed, "f"));
        Assert.Equal(history.Take(503), await bed.Memory.GetHistoryAsync("f"));

        // Truncate the source to its first 303 messages: the head, the summary and the pending part stay byte for byte.
        Assert.Equal(500, await bed.Memory.TruncateAsync("c", 303));
        Assert.Equal(raw.Take(403), await RawAsync(bed, "c"));
        Assert.Equal(history.Take(303), await bed.Memory.GetHistoryAsync("c"));

        // Both continue on their own: 600 new messages each overflow the window, by 100 (source) and by 300 (copy).
        await bed.Memory.AppendManyAsync("c", Enumerable.Range(0, 600).Select(n => n % 2 == 0 ? U($"c{n:D4}") : A($"c{n:D4}")));
        await bed.Memory.AppendManyAsync("f", Enumerable.Range(0, 600).Select(n => n % 2 == 0 ? U($"f{n:D4}") : A($"f{n:D4}")));
        var source = await bed.Memory.GetHistoryAsync("c");
        var copy = await bed.Memory.GetHistoryAsync("f");
        Assert.Equal(2 + 1 + 800, source.Count);
        Assert.Equal(2 + 1 + 800, copy.Count);
        Assert.Equal([.. history.Skip(3).Take(300).Skip(100), .. Enumerable.Range(0, 600).Select(n => n % 2 == 0 ? U($"c{n:D4}") : A($"c{n:D4}"))], source.Skip(3));
        Assert.DoesNotContain(source, m => m.Content.StartsWith('f'));
        Assert.DoesNotContain(copy, m => m.Content.StartsWith('c'));
        Assert.Equal(copy.Skip(3).TakeLast(600).Select(m => m.Content), Enumerable.Range(0, 600).Select(n => $"f{n:D4}"));

        // Each summarizes what left its own window, exactly once, after the 1200 folded before the branch.
        Assert.Equal(100 + 100, await summarizer.SummarizePendingAsync("c"));
        Assert.Equal(100 + 300, await summarizer.SummarizePendingAsync("f"));
        var sourceSummary = (await bed.Memory.GetHistoryAsync("c"))[2].Content.Split(' ');
        var copySummary = (await bed.Memory.GetHistoryAsync("f"))[2].Content.Split(' ');
        Assert.Equal([.. Enumerable.Range(0, 1300).Select(n => $"m{n:D4}"), .. history.Skip(3).Take(100).Select(m => m.Content)], sourceSummary);
        Assert.Equal([.. Enumerable.Range(0, 1300).Select(n => $"m{n:D4}"), .. history.Skip(3).Take(300).Select(m => m.Content)], copySummary);
    }

    [Theory, AllServers]
    public async Task A_fork_into_a_conversation_that_exists_is_refused_and_writes_nothing(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendManyAsync("src", [U("q1"), A("a1"), U("q2"), A("a2")]);
        await bed.Memory.AppendManyAsync("taken", [U("mine")]);
        var taken = await RawAsync(bed, "taken");

        var exists = await Assert.ThrowsAsync<ArgumentException>(() => bed.Memory.ForkAsync("src", "taken", 2));

        Assert.Equal("targetId", exists.ParamName);
        Assert.Contains("already exists", exists.Message, StringComparison.Ordinal);
        Assert.Equal(taken, await RawAsync(bed, "taken"));

        // Into itself: refused before any I/O.
        Assert.Equal("targetId", (await Assert.ThrowsAsync<ArgumentException>(() => bed.Memory.ForkAsync("src", "src", 2))).ParamName);
    }

    [Theory, AllServers]
    public async Task A_retry_of_a_fork_converges_whichever_step_was_lost(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxTurns: 3));
        await bed.Memory.AppendAsync("src", S("prompt"));
        for (var t = 0; t < 10; t++)
        {
            await bed.Memory.AppendTurnAsync("src", $"q{t}", $"a{t}");
        }

        // Source and target on different slots (on a cluster, different nodes may own them): the fork is a read, then a
        // write of the target alone.
        var slot = bed.RawConnection.HashSlot(bed.Key("src")); // -1 but on a cluster
        var dst = server == "cluster" ? Enumerable.Range(0, 100).Select(i => $"dst{i}").First(d => bed.RawConnection.HashSlot(bed.Key(d)) != slot) : "dst";

        // Attempt 1 read the source (the fork's first step, as the memory sends it) and died before writing: nothing was
        // written, and the retry writes the whole copy.
        var read = BranchOutcome.From(await bed.Raw.ScriptEvaluateAsync(ChatMemoryScripts.Branch.Text, [bed.Key("src")], [4, 0, 0]));
        Assert.False(await bed.Raw.KeyExistsAsync(bed.Key(dst)));
        var stored = await bed.Memory.ForkAsync("src", dst, 4);
        var copy = await RawAsync(bed, dst);
        Assert.Equal(stored, copy.Length);
        Assert.Equal(read.Elements.Select(e => (byte[])e!), copy);

        // Attempt 1 wrote the copy (the second step) and its reply was lost: the retry finds exactly the copy and returns
        // as done, writing nothing.
        var again = dst + "b";
        Assert.Equal(stored, (long)await bed.Raw.ScriptEvaluateAsync(ChatMemoryScripts.Restore.Text, [bed.Key(again)], [0, 0, .. read.Elements]));
        Assert.Equal(stored, await bed.Memory.ForkAsync("src", again, 4));
        Assert.Equal(copy, await RawAsync(bed, again));
        Assert.Equal(stored, await bed.Memory.ForkAsync("src", dst, 4));
        Assert.Equal(copy, await RawAsync(bed, dst));

        // A target holding a part of the copy (never left by a fork: the copy is one script) is not completed: refused.
        await bed.Raw.ListRightPushAsync(bed.Key("half"), [.. copy.Take(copy.Length / 2).Select(e => (RedisValue)e)]);
        Assert.Equal("targetId", (await Assert.ThrowsAsync<ArgumentException>(() => bed.Memory.ForkAsync("src", "half", 4))).ParamName);
        Assert.Equal(copy.Take(copy.Length / 2), await RawAsync(bed, "half"));
    }

    [Theory, AllServers]
    public async Task The_sync_twins_do_what_the_async_methods_do(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Window.PinSystemMessages = true);
        bed.Memory.AppendMany("c", [S("p"), U("q1"), A("a1"), U("q2"), A("a2")]);

        Assert.Equal(2, bed.Memory.Fork("c", "d", 2));
        Assert.Equal(2, bed.Memory.Truncate("c", 3));
        Assert.Equal([S("p"), U("q1"), A("a1")], bed.Memory.GetHistory("c"));
        Assert.Equal([S("p"), U("q1")], bed.Memory.GetHistory("d"));
        Assert.Equal("keep", Assert.Throws<ArgumentOutOfRangeException>(() => bed.Memory.Truncate("c", 4)).ParamName);
        Assert.Equal("targetId", Assert.Throws<ArgumentException>(() => bed.Memory.Fork("c", "d", 1)).ParamName);
    }

    [Fact]
    public async Task Bad_arguments_are_refused_before_any_io()
    {
        // Nothing listens on port 1: any I/O would fail with a connection error, not an argument error.
        await using var memory = new RedisChatMemory("redis://127.0.0.1:1");
        Assert.Equal("keep", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => memory.TruncateAsync("c", -1))).ParamName);
        Assert.Equal("keep", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => memory.ForkAsync("c", "d", -1))).ParamName);
        Assert.Equal("conversationId", (await Assert.ThrowsAsync<ArgumentException>(() => memory.TruncateAsync(" ", 0))).ParamName);
        Assert.Equal("sourceId", (await Assert.ThrowsAsync<ArgumentException>(() => memory.ForkAsync("", "d", 0))).ParamName);
        Assert.Equal("targetId", (await Assert.ThrowsAsync<ArgumentException>(() => memory.ForkAsync("c", " ", 0))).ParamName);
        Assert.Equal("targetId", (await Assert.ThrowsAsync<ArgumentException>(() => memory.ForkAsync("c", "c", 0))).ParamName);
        Assert.Equal("keep", Assert.Throws<ArgumentOutOfRangeException>(() => memory.Truncate("c", -1)).ParamName);
        Assert.Equal("keep", Assert.Throws<ArgumentOutOfRangeException>(() => memory.Fork("c", "d", -1)).ParamName);

        // Adapters find branches as they find every feature.
        IChatMemory seam = memory;
        Assert.Same(memory, seam.GetService(typeof(IChatMemoryBranches)));
    }

    /// <summary>The script's count (Lua) against the read's (C#): for lists as every writer leaves them (pins, Python's
    /// spacing, a summary with and without text, pending elements), each keep from the least to the most accepted copies
    /// exactly GetHistoryAsync's first keep messages, and one fewer or one more is refused.</summary>
    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("cluster")]
    public async Task Every_accepted_keep_copies_exactly_the_first_keep_messages_GetHistory_lists(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        const string Summary = """{"role":"system","summary":{"pending":2,"folded":5,"dropped":1,"epoch":"1764000000000000"},"content":""";
        string[][] lists =
        [
            [],
            ["""{"role":"user","content":"q"}""", """{"role": "assistant", "content": "a"}"""],
            ["""{"role":"system","content":"p"}""", """{"role": "system", "content": "py"}""", """{"role":"user","content":"q"}"""],
            [Summary + "\"text\"}", "{\"role\":\"user\",\"content\":\"p1\"}", "{\"role\":\"assistant\",\"content\":\"p2\"}", "{\"role\":\"user\",\"content\":\"w\"}"],
            ["""{"role":"system","content":"p"}""", Summary + "\"\"}", "{\"role\":\"user\",\"content\":\"p1\"}", "{\"role\":\"assistant\",\"content\":\"p2\"}", "{\"role\":\"user\",\"content\":\"w1\"}", "{\"role\":\"assistant\",\"content\":\"w2\"}"],
            ["""{"role":"system","content":"p"}""", """{"role": "system", "content": "q"}""", Summary + "\"s\\\"\\\"\"}", "{\"role\":\"user\",\"content\":\"p1\"}", "{\"role\":\"assistant\",\"content\":\"p2\"}"],
            ["""{"role":"user","content":"q"}""", Summary + "\"late\"}"], // a summary after a user message is not one
        ];
        for (var l = 0; l < lists.Length; l++)
        {
            var id = $"l{l}";
            if (lists[l].Length > 0)
            {
                await bed.Raw.ListRightPushAsync(bed.Key(id), [.. lists[l].Select(e => (RedisValue)e)]);
            }

            var history = await bed.Memory.GetHistoryAsync(id);
            var hasSummary = lists[l].TakeWhile(e => e.StartsWith("""{"role": "system""", StringComparison.Ordinal) || e.StartsWith("""{"role":"system""", StringComparison.Ordinal)).Any(e => e.Contains("\"summary\":", StringComparison.Ordinal));
            var least = hasSummary ? history.TakeWhile(m => m.Role == "system" && !m.IsSummary).Count() + (history.Any(m => m.IsSummary) ? 1 : 0) : 0;

            for (var keep = least; keep <= history.Count; keep++)
            {
                await bed.Memory.ForkAsync(id, $"{id}k{keep}", keep);
                Assert.Equal(history.Take(keep), await bed.Memory.GetHistoryAsync($"{id}k{keep}"));
            }

            if (least > 0)
            {
                await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.Memory.ForkAsync(id, $"{id}less", least - 1));
            }

            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bed.Memory.TruncateAsync(id, history.Count + 1));
            Assert.Equal(lists[l].Select(Encoding.UTF8.GetBytes), await RawAsync(bed, id));
        }
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Python_reads_truncated_and_forked_lists_as_ordinary_lists(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxTurns: 2));
        await bed.Memory.AppendAsync("c", S("prompt"));
        for (var t = 0; t < 6; t++)
        {
            await bed.Memory.AppendTurnAsync("c", $"q{t}", $"a{t}");
        }

        await new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold }).SummarizePendingAsync("c");
        await bed.Memory.AppendTurnAsync("c", "q6", "a6"); // q4 and a4 leave the window: pending
        await bed.Memory.ForkAsync("c", "f", 4);           // prompt, summary, q5, a5
        await bed.Memory.TruncateAsync("c", 3);            // prompt, summary, q5

        var lines = new List<string>();
        foreach (var id in new[] { "c", "f" })
        {
            var elements = (await RawAsync(bed, id)).Select(Encoding.UTF8.GetString);
            var python = Python.Run(
                """
                import json, sys
                for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
                    d = json.loads(line)
                    assert type(d) is dict and type(d['role']) is str and type(d['content']) is str
                    print(d['role'], d['content'])
                """,
                Encoding.UTF8.GetBytes(string.Join('\n', elements)));
            lines.Add(string.Join(" | ", python));
        }

        const string Summary = "system q0 a0 q1 a1 q2 a2 q3 a3";
        Assert.Equal($"system prompt | {Summary} | user q4 | assistant a4 | user q5", lines[0]);
        Assert.Equal($"system prompt | {Summary} | user q4 | assistant a4 | user q5 | assistant a5", lines[1]);
    }

    [Theory, AllServers]
    public async Task What_a_model_receives_after_a_cut_between_a_call_and_its_result_is_still_valid(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendManyAsync("c", [
            U("Weather?"),
            new ChatMemoryMessage("assistant", "") { ToolCalls = [new("call_1", "get_weather", """{"city":"Paris"}""")] },
            new ChatMemoryMessage("tool", "21C") { ToolCallId = "call_1" },
            A("21C."),
        ]);

        await bed.Memory.TruncateAsync("c", 2); // the call stays, its result goes
        await bed.Memory.ForkAsync("c", "f", 2);

        var model = new StrictChatClient();
        foreach (var id in new[] { "c", "f" })
        {
            await model.GetResponseAsync([.. await bed.Memory.GetChatMessagesAsync(id), new ChatMessage(ChatRole.User, "again")]);
        }

        Assert.Empty(model.Rejections);
    }

    [Theory, VectorServers]
    public async Task Truncate_removes_no_recall_entry_and_recall_of_a_fork_sees_only_what_left_the_copys_own_window(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => { c.MaxTurns = 2; c.Summarize = true; },
            features: new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()));
        var recall = bed.Memory.GetRequiredService<ChatMemoryRecall>();
        var summarizer = new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold });
        await bed.Memory.AppendAsync("c", "user", "My dog is called Biscuit.");
        for (var n = 0; n < 20; n++)
        {
            await bed.Memory.AppendAsync("c", n % 2 == 0 ? "assistant" : "user", $"Chatter about hiking number {n}.");
        }

        Assert.Equal(17, await summarizer.SummarizePendingAsync("c"));
        var vectors = (RedisKey)$"{bed.Config.KeyPrefix}#recall:c";
        Assert.Equal(17, (long)await bed.Raw.ExecuteAsync("VCARD", vectors));

        // Truncate: the summary and the window's first message stay; no recall entry goes, and recall still finds the dog.
        await bed.Memory.TruncateAsync("c", 2);
        Assert.Equal(17, (long)await bed.Raw.ExecuteAsync("VCARD", vectors));
        Assert.Equal("My dog is called Biscuit.", (await recall.RecallAsync("c", "What is my dog called?", top: 1))[0].Message.Content);

        // Fork: the copy's recall starts empty; what leaves the copy's window is indexed for the copy alone.
        await bed.Memory.ForkAsync("c", "f", 2);
        Assert.False(await bed.Raw.KeyExistsAsync($"{bed.Config.KeyPrefix}#recall:f"));
        Assert.Empty(await recall.RecallAsync("f", "What is my dog called?", top: 5));
        for (var n = 0; n < 6; n++)
        {
            await bed.Memory.AppendAsync("f", n % 2 == 0 ? "user" : "assistant", $"Copy talk about dogs number {n}.");
        }

        Assert.Equal(3, await summarizer.SummarizePendingAsync("f"));
        var found = await recall.RecallAsync("f", "What is my dog called?", top: 10);
        Assert.Equal(3, found.Count);
        Assert.All(found, m => Assert.Equal("f", m.ConversationId));
        Assert.Equal([17L, 18L, 19L], found.Select(m => m.Position).Order());
        Assert.Equal(17, (long)await bed.Raw.ExecuteAsync("VCARD", vectors));
    }

    /// <summary>docs/branches.md's example, run: its body is the one between the markers below (but for the URL and the
    /// writer it prints to), and what it prints is the page's text block.</summary>
    [Fact]
    public async Task The_example_of_docs_branches_md_prints_what_the_page_says()
    {
        var url = (await TestServers.GetAsync("redis")).ConnectionString;
        var output = new StringWriter { NewLine = "\n" };

        // example start
        await using var memory = new RedisChatMemory(url,
            new ChatMemoryConfig { KeyPrefix = "branches-demo", Window = { PinSystemMessages = true } });
        await memory.ClearAsync("chat");
        await memory.ClearAsync("chat-b");

        await memory.AppendAsync("chat", "system", "You are terse.");
        await memory.AppendTurnAsync("chat", "Name a colour.", "Blue.");
        await memory.AppendTurnAsync("chat", "Another?", "Green.");

        // A copy of the first 4 messages (the prompt, a turn, the second question), then the answer regenerated in place.
        await memory.ForkAsync("chat", "chat-b", keep: 4);
        await memory.TruncateAsync("chat", keep: 4);
        await memory.AppendAsync("chat", "assistant", "Red.");
        await memory.AppendAsync("chat-b", "assistant", "Yellow.");

        foreach (var id in new[] { "chat", "chat-b" })
        {
            var history = await memory.GetHistoryAsync(id);
            output.WriteLine($"{id}: {string.Join(" | ", history.Select(m => $"{m.Role}: {m.Content}"))}");
        }

        try
        {
            await memory.ForkAsync("chat", "chat-b", keep: 2);
        }
        catch (ArgumentException e)
        {
            output.WriteLine($"refused ({e.ParamName}): chat-b exists");
        }

        // example end
        var root = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var page = File.ReadAllText(Path.Combine(root, "docs", "branches.md")).ReplaceLineEndings("\n");
        var source = File.ReadAllText(Path.Combine(root, "tests", "RactoGateway.Redis.Tests", "BranchTests.cs")).ReplaceLineEndings("\n");
        var body = source.Split("        // example start\n")[1].Split("        // example end\n")[0];
        var example = string.Join('\n', body.Split('\n').Select(line => line.Length >= 8 ? line[8..] : line))
            .Replace("new RedisChatMemory(url,", "new RedisChatMemory(\"redis://localhost:6379\",", StringComparison.Ordinal)
            .Replace("output.WriteLine(", "Console.WriteLine(", StringComparison.Ordinal).TrimEnd('\n');
        var code = page.Split("```csharp\n")[1].Split("\n```")[0];
        Assert.Equal("// dotnet add package RactoGateway.Redis\nusing RactoGateway.Redis;\n\n" + example, code);
        var printed = page.Split("```csharp\n")[1].Split("```text\n")[1].Split("```")[0];
        Assert.Equal(printed, output.ToString());
    }
}

using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>The operator commands of chatmem (list, export, import, stats, trim, chat), run as a separate process
/// against a real redis-server.</summary>
public sealed class OperatorCliTests
{
    private static readonly DateTimeOffset When = new(2026, 11, 25, 6, 0, 0, TimeSpan.FromHours(1));

    [Fact]
    public async Task List_prints_every_id_once_and_matches_globs_or_literally()
    {
        var (server, prefix) = await ServerAsync();
        string[] ids = ["plain", "with:colon", "with space", "x*y", "xAy", "q?[1]\\z"];
        await using (var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix }))
        {
            foreach (var id in ids)
            {
                await memory.AppendAsync(id, "user", "hi");
            }
        }

        var all = await Chatmem.RunAsync(Redis(server, prefix, "list"));
        var glob = await Chatmem.RunAsync(Redis(server, prefix, "list", "--match", "x*y"));
        var literal = await Chatmem.RunAsync(Redis(server, prefix, "list", "--match", "x*y", "--literal"));
        var oddLiteral = await Chatmem.RunAsync(Redis(server, prefix, "list", "--match", "q?[1]\\z", "--literal"));

        Assert.Equal(0, all.Code);
        Assert.Equal(ids.Order(StringComparer.Ordinal), Lines(all.Stdout).Order(StringComparer.Ordinal));
        Assert.Equal(["x*y", "xAy"], Lines(glob.Stdout).Order(StringComparer.Ordinal));
        Assert.Equal(["x*y"], Lines(literal.Stdout));
        Assert.Equal(["q?[1]\\z"], Lines(oddLiteral.Stdout));
    }

    [Fact]
    public async Task List_scans_in_batches_past_one_page()
    {
        var (server, prefix) = await ServerAsync();
        await using (var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix }))
        {
            await Task.WhenAll(Enumerable.Range(0, 1200).Select(i => memory.AppendAsync($"c{i}", "user", "hi")));
        }

        var run = await Chatmem.RunAsync(Redis(server, prefix, "list"));

        Assert.Equal(0, run.Code);
        Assert.Equal(1200, Lines(run.Stdout).Distinct().Count());
    }

    [Fact]
    public async Task Export_clear_import_export_is_lossless_with_tool_calls_ids_metadata_and_unicode()
    {
        var (server, prefix) = await ServerAsync();
        var config = new ChatMemoryConfig { KeyPrefix = prefix, Ttl = TimeSpan.FromHours(1) };
        ChatMemoryMessage[] rich =
        [
            new("system", "Tu es un assistant. 日本語 ✓ \"quoted\" \\ back\nslash") { MessageId = "m0", Timestamp = When },
            new("user", "Quel temps à Paris ? 🌧") { MessageId = "m1", AuthorName = "zoé", Metadata = new Dictionary<string, string> { ["tenant"] = "t-1", ["ünï"] = "cödé" } },
            new("assistant", "") { MessageId = "m2", ToolCalls = [new ChatMemoryToolCall("call_1", "get_weather", "{\"city\":\"Paris\",\"units\":\"°C\"}")] },
            new("tool", "{\"temp\":12}") { ToolCallId = "call_1", Timestamp = When },
            new("assistant", "Il fait 12 °C.") { MessageId = "m4", ExtraContentsJson = "[{\"$type\":\"text\",\"text\":\"x\"}]" },
        ];
        await using (var memory = new RedisChatMemory(server.ConnectionString, config))
        {
            await memory.AppendManyAsync("rich:one two", rich);
            await memory.AppendTurnAsync("plain", "a", "b");
        }

        var before = await Chatmem.RunAsync(Redis(server, prefix, "export"));
        var originalHistory = await HistoryAsync(server, config, "rich:one two");
        await using (var memory = new RedisChatMemory(server.ConnectionString, config))
        {
            await memory.ClearAsync("rich:one two");
            await memory.ClearAsync("plain");
        }

        var import = await Chatmem.RunAsync(null, before.Stdout, Redis(server, prefix, "import"));
        var after = await Chatmem.RunAsync(Redis(server, prefix, "export"));

        Assert.Equal(0, before.Code);
        Assert.Equal(0, import.Code);
        Assert.Equal(0, after.Code);
        Assert.Equal(2, Lines(before.Stdout).Length);
        Assert.Equal(WithoutTtl(before.Stdout), WithoutTtl(after.Stdout));
        Assert.Equal(originalHistory, await HistoryAsync(server, config, "rich:one two"));
        Assert.Equal(rich, originalHistory);
        foreach (var line in Lines(after.Stdout))
        {
            using var json = JsonDocument.Parse(line);
            Assert.InRange(json.RootElement.GetProperty("ttl_ms").GetInt64(), 1, 3_600_000);
        }
    }

    [Fact]
    public async Task Import_appends_skipping_stored_ids_and_replace_replaces()
    {
        var (server, prefix) = await ServerAsync();
        var config = new ChatMemoryConfig { KeyPrefix = prefix };
        const string Line = """{"conversation":"c","ttl_ms":null,"messages":[{"role":"user","id":"u1","content":"hi"},{"role":"assistant","content":"hello"}]}""";
        await using var memory = new RedisChatMemory(server.ConnectionString, config);
        await memory.AppendAsync("c", "user", "before");

        var first = await Chatmem.RunAsync(null, Line + "\n", Redis(server, prefix, "import"));
        var again = await Chatmem.RunAsync(null, Line + "\n", Redis(server, prefix, "import"));
        Assert.Equal(0, first.Code);
        Assert.Equal(0, again.Code);
        Assert.Equal(["before", "hi", "hello", "hello"], (await memory.GetHistoryAsync("c")).Select(m => m.Content));

        var replace = await Chatmem.RunAsync(null, Line + "\n", Redis(server, prefix, "import", "--replace"));
        Assert.Equal(0, replace.Code);
        Assert.Equal(["hi", "hello"], (await memory.GetHistoryAsync("c")).Select(m => m.Content));

        var windowed = await Chatmem.RunAsync(null, Line + "\n", Redis(server, prefix, "--max-turns", "1", "import", "--replace"));
        Assert.Equal(0, windowed.Code);
        Assert.Equal(2, await memory.CountAsync("c"));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"conversation":"c","messages":[{"role":"user"}]}""")]
    [InlineData("""{"conversation":"c","messages":[{"role":"wizard\"x","content":"x"}]}""")]
    [InlineData("""{"conversation":" ","messages":[]}""")]
    [InlineData("""{"conversation":"c","ttl_ms":-5,"messages":[]}""")]
    public async Task Import_of_a_bad_line_exits_2_with_one_line_naming_it(string line)
    {
        var (server, prefix) = await ServerAsync();
        const string Good = """{"conversation":"ok","ttl_ms":null,"messages":[{"role":"user","content":"hi"}]}""";

        var run = await Chatmem.RunAsync(null, Good + "\n" + line + "\n", Redis(server, prefix, "import"));

        Assert.Equal(2, run.Code);
        Assert.Single(Lines(run.Stderr));
        Assert.StartsWith("chatmem: stdin line 2:", run.Stderr);
    }

    /// <summary>Every kind of bad input on line 3, after two good lines; the byte form allows invalid UTF-8.</summary>
    public static TheoryData<string, byte[], string> BadImportLines()
    {
        static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
        var data = new TheoryData<string, byte[], string>
        {
            { "invalid UTF-8", [.. Utf8("""{"conversation":"c","messages":[{"role":"user","content":"caf"""), 0xC3, 0x28, .. Utf8("\"}]}")], "not valid UTF-8 (byte 0xC3" },
            { "a lone continuation byte", [.. Utf8("""{"conversation":"c","messages":[{"role":"user","content":"x"""), 0x80, .. Utf8("\"}]}")], "not valid UTF-8" },
            { "over-long line", Utf8("{\"conversation\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 4_100_000) + "\"}]}"), "longer than 4000000 bytes" },
            { "not JSON", Utf8("not json"), "not JSON" },
            { "a truncated line", Utf8("""{"conversation":"c","messages":[{"role":"user","content":"hi"}"""), "not JSON" },
            { "no content", Utf8("""{"conversation":"c","messages":[{"role":"user"}]}"""), "message 1 is not a stored message" },
            { "a bad role", Utf8("""{"conversation":"c","messages":[{"role":"wizard\"x","content":"x"}]}"""), "message 1: role" },
            { "an empty role", Utf8("""{"conversation":"c","messages":[{"role":"","content":"x"}]}"""), "message 1: role" },
            { "a field of the wrong type", Utf8("""{"conversation":"c","messages":[{"role":"user","content":"x","id":5}]}"""), "message 1 is not a stored message" },
            { "an empty message id", Utf8("""{"conversation":"c","messages":[{"role":"user","content":"x","id":""}]}"""), "message 1: \"id\" is empty" },
            { "tool_call_id on a user message", Utf8("""{"conversation":"c","messages":[{"role":"user","content":"x","tool_call_id":"c1"}]}"""), "message 1: only a tool message" },
            { "a tool call without a name", Utf8("""{"conversation":"c","messages":[{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"","arguments":"{}"}}]}]}"""), "message 1" },
            { "an oversize message", Utf8("{\"conversation\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"" + new string('x', (1024 * 1024) + 1) + "\"}]}"), "message 2: it is over 1048576 bytes" },
            { "a lone surrogate", Utf8("""{"conversation":"c","messages":[{"role":"user","content":"\uD800"}]}"""), "message 1 is not a stored message" },
            { "an empty conversation id", Utf8("""{"conversation":" ","messages":[]}"""), "the conversation id is empty" },
            { "a missing conversation id", Utf8("""{"messages":[]}"""), "expected {" },
            { "a negative ttl", Utf8("""{"conversation":"c","ttl_ms":-5,"messages":[]}"""), "ttl_ms must be" },
        };
        return data;
    }

    [Theory, MemberData(nameof(BadImportLines), DisableDiscoveryEnumeration = true)]
    public async Task Import_is_all_or_nothing_a_bad_line_of_any_kind_is_named_and_nothing_is_stored(string kind, byte[] bad, string expected)
    {
        // Regression (issue 9, defect 4): invalid UTF-8 on line 3 stored lines 1-2, then exited 2 with "Unable to translate
        // bytes [C3] at index ..." naming no line. Now the whole input is checked first.
        var (server, prefix) = await ServerAsync();
        byte[] input =
        [
            .. """{"conversation":"first","ttl_ms":null,"messages":[{"role":"user","content":"hi"}]}"""u8, (byte)'\n',
            .. """{"conversation":"second","ttl_ms":null,"messages":[{"role":"user","content":"hi"}]}"""u8, (byte)'\n',
            .. bad, (byte)'\n',
            .. """{"conversation":"fourth","ttl_ms":null,"messages":[{"role":"user","content":"hi"}]}"""u8, (byte)'\n',
        ];

        string[] limit = kind == "over-long line" ? ["--max-line-bytes", "4000000"] : [];
        var run = await Chatmem.RunAsync(null, input, Redis(server, prefix, ["import", .. limit]));

        Assert.True(run.Code == 2, $"{kind}: exit {run.Code}, stderr {run.Stderr}");
        Assert.Single(Lines(run.Stderr));
        Assert.StartsWith("chatmem: stdin line 3: ", run.Stderr);
        Assert.Contains(expected, run.Stderr);
        Assert.Contains("nothing was imported", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        Assert.Equal(0, await memory.CountAsync("first"));
        Assert.Equal(0, await memory.CountAsync("second"));
    }

    [Fact]
    public async Task Import_accepts_a_byte_order_mark_crlf_line_ends_blank_lines_and_no_final_newline()
    {
        var (server, prefix) = await ServerAsync();
        byte[] input =
        [
            0xEF, 0xBB, 0xBF, .. """{"conversation":"a","ttl_ms":null,"messages":[{"role":"user","content":"café"}]}"""u8, (byte)'\r', (byte)'\n',
            (byte)'\r', (byte)'\n', (byte)' ', (byte)'\n',
            .. """{"conversation":"b","messages":[{"role":"assistant","content":"ok"}]}"""u8,
        ];

        var run = await Chatmem.RunAsync(null, input, Redis(server, prefix, "import"));

        Assert.Equal(0, run.Code);
        Assert.Equal("chatmem: imported 2 conversation(s), 2 message(s) stored, 0 owner entries, 0 recall entries", run.Stderr.Trim());
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        Assert.Equal("café", (await memory.GetHistoryAsync("a")).Single().Content);
        Assert.Equal("ok", (await memory.GetHistoryAsync("b")).Single().Content);
    }

    [Fact]
    public async Task Import_replace_refuses_a_conversation_on_two_lines_before_writing_either()
    {
        var (server, prefix) = await ServerAsync();
        const string Line = """{"conversation":"c","ttl_ms":null,"messages":[{"role":"user","content":"hi"}]}""";

        var replace = await Chatmem.RunAsync(null, Line + "\n" + Line + "\n", Redis(server, prefix, "import", "--replace"));
        var append = await Chatmem.RunAsync(null, Line + "\n" + Line + "\n", Redis(server, prefix, "import"));

        Assert.Equal(2, replace.Code);
        Assert.StartsWith("chatmem: stdin line 2: conversation 'c' is also on line 1", replace.Stderr);
        Assert.Equal(0, append.Code);
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        Assert.Equal(2, await memory.CountAsync("c"));
    }

    [Fact]
    public async Task Import_help_says_it_is_all_or_nothing()
    {
        var help = await Chatmem.RunAsync("import", "--help");

        Assert.Equal(0, help.Code);
        Assert.Contains("All or nothing", help.Stdout);
        Assert.Contains("--max-line-bytes", help.Stdout);
    }

    [Fact]
    public async Task Export_skips_corrupt_elements_and_counts_them_on_stderr()
    {
        var (server, prefix) = await ServerAsync();
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            await connection.GetDatabase().ListRightPushAsync($"{prefix}:c", ["""{"role":"user","content":"ok"}""", "garbage", """{"role":"user"}"""]);
        }

        var run = await Chatmem.RunAsync(Redis(server, prefix, "export"));

        Assert.Equal(0, run.Code);
        Assert.Equal("""{"conversation":"c","ttl_ms":null,"messages":[{"role":"user","content":"ok"}],"owner":null,"recall":[]}""", run.Stdout.Trim());
        Assert.Contains("skipped 2 corrupt element(s)", run.Stderr);
    }

    [Fact]
    public async Task Stats_json_counts_conversations_messages_memory_and_the_ttl_spread()
    {
        var (server, prefix) = await ServerAsync();
        await using (var forever = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix }))
        await using (var expiring = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix, Ttl = TimeSpan.FromSeconds(1000) }))
        {
            await forever.AppendTurnAsync("a", "q", "r");
            await expiring.AppendAsync("b", "user", "q");
            await expiring.AppendAsync("c", "user", "q");
        }

        var run = await Chatmem.RunAsync(Redis(server, prefix, "stats", "--json"));
        var table = await Chatmem.RunAsync(Redis(server, prefix, "stats"));

        Assert.Equal(0, run.Code);
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Equal(3, root.GetProperty("conversations").GetInt64());
        Assert.Equal(4, root.GetProperty("messages").GetInt64());
        Assert.Equal(3, root.GetProperty("memory").GetProperty("sampled_keys").GetInt64());
        Assert.True(root.GetProperty("memory").GetProperty("estimated_bytes").GetInt64() > 0);
        Assert.Equal(1, root.GetProperty("ttl").GetProperty("none").GetInt64());
        Assert.InRange(root.GetProperty("ttl").GetProperty("min_ms").GetInt64(), 900_000, 1_000_000);
        Assert.InRange(root.GetProperty("ttl").GetProperty("max_ms").GetInt64(), 900_000, 1_000_000);
        Assert.Equal(0, table.Code);
        Assert.Contains("estimate", table.Stdout);
    }

    [Fact]
    public async Task Trim_applies_a_smaller_window_to_stored_conversations()
    {
        var (server, prefix) = await ServerAsync();
        var config = new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 10 };
        await using var memory = new RedisChatMemory(server.ConnectionString, config);
        for (var i = 0; i < 5; i++)
        {
            await memory.AppendTurnAsync("long", $"q{i}", $"r{i}");
        }

        await memory.AppendTurnAsync("short", "q", "r");

        var run = await Chatmem.RunAsync(Redis(server, prefix, "--max-turns", "2", "trim"));
        var missing = await Chatmem.RunAsync(Redis(server, prefix, "trim"));

        Assert.Equal(0, run.Code);
        Assert.StartsWith("trimmed 1 of 2 conversation(s)", run.Stdout);
        Assert.Equal(["q3", "r3", "q4", "r4"], (await memory.GetHistoryAsync("long")).Select(m => m.Content));
        Assert.Equal(2, await memory.CountAsync("short"));
        Assert.Equal(2, missing.Code);
        Assert.Single(Lines(missing.Stderr));
    }

    [Fact]
    public async Task Chat_reads_stdin_through_the_middleware_and_a_second_process_continues_the_conversation()
    {
        var (server, prefix) = await ServerAsync();

        // The strict provider test model behind a loopback OpenAI-compatible endpoint, answering as the offline echo
        // assistant does: "echo #{user messages sent}: {text}".
        var model = new StrictChatClient { Responder = ModelEndToEndTests.EchoNumbered };
        await using var endpoint = LoopbackOpenAIServer.Start(model);
        string[] Chat() => Redis(server, prefix, "chat", "s 1", "--endpoint", endpoint.BaseUrl.ToString(), "--model", "m", "--api-key", "k");

        var first = await Chatmem.RunAsync(null, "hello\nwhat did I say?\n", Chat());
        var second = await Chatmem.RunAsync(null, "third\n/history\n/exit\nnot sent\n", Chat());

        Assert.Empty(model.Rejections);
        Assert.Equal(3, model.Calls.Count);
        Assert.Equal(0, first.Code);
        Assert.Equal(["echo #1: hello", "echo #2: what did I say?"], Lines(first.Stdout));
        Assert.Equal(0, second.Code);
        Assert.StartsWith("echo #3: third", second.Stdout);
        Assert.Contains("echo #1: hello", second.Stdout);
        Assert.DoesNotContain("not sent", second.Stdout);
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        Assert.Equal(
            ["hello", "echo #1: hello", "what did I say?", "echo #2: what did I say?", "third", "echo #3: third"],
            (await memory.GetHistoryAsync("s 1")).Select(m => m.Content));
    }

    [Fact]
    public async Task Chat_with_an_unreachable_model_stores_nothing_exits_4_and_never_prints_the_key()
    {
        var (server, prefix) = await ServerAsync();
        var endpoint = $"http://127.0.0.1:{Loopback.FreePort()}/v1";

        var run = await Chatmem.RunAsync(null, "hello\n",
            Redis(server, prefix, "chat", "c", "--endpoint", endpoint, "--model", "m", "--api-key", "sk-s3cret-key"));
        var noModel = await Chatmem.RunAsync(null, "", Redis(server, prefix, "chat", "c", "--endpoint", endpoint));

        Assert.Equal(4, run.Code); // the model failed, not Redis
        Assert.StartsWith("chatmem: the model call failed", run.Stderr);
        Assert.DoesNotContain("s3cret", run.Stdout + run.Stderr);
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        Assert.Equal(0, await memory.CountAsync("c"));
        Assert.Equal(2, noModel.Code);
        Assert.Single(Lines(noModel.Stderr));
    }

    [Fact]
    public async Task Chat_summarize_folds_with_the_endpoints_model_and_the_strict_provider_accepts_every_request()
    {
        var (server, prefix) = await ServerAsync();

        // One strict OpenAI model behind the loopback endpoint answers both: the summarizer's requests (their user message
        // starts "Summary so far:") with the folded contents, the chat's as the echo assistant does.
        var model = new StrictChatClient
        {
            Responder = (sent, options, number) => sent[^1].Text.StartsWith("Summary so far:", StringComparison.Ordinal)
                ? FoldReplies.Fold(sent, options, number)
                : ModelEndToEndTests.EchoNumbered(sent, options, number),
        };
        await using var endpoint = LoopbackOpenAIServer.Start(model);
        string[] Chat() => Redis(server, prefix, "--pin-system", "--summarize", "--max-turns", "1", "chat", "c", "--endpoint", endpoint.BaseUrl.ToString(), "--model", "m", "--api-key", "k");

        var prompt = await Chatmem.RunAsync(Redis(server, prefix, "--pin-system", "--summarize", "append", "c", "system", "Be terse."));
        var first = await Chatmem.RunAsync(null, "q1\nq2\n", Chat());
        var second = await Chatmem.RunAsync(null, "q3\n", Chat());
        var show = await Chatmem.RunAsync(Redis(server, prefix, "show", "c", "--json"));

        Assert.Empty(model.Rejections);
        Assert.Equal(0, prompt.Code);
        Assert.True(first.Code == 0, first.Stderr);
        Assert.True(second.Code == 0, second.Stderr);
        Assert.Equal(["echo #1: q1", "echo #2: q2"], Lines(first.Stdout));
        Assert.Equal(["echo #2: q3"], Lines(second.Stdout));

        // Three chat calls and two summaries (after q2's turn and q3's, each folding the turn that left the window), in order.
        var calls = model.Calls;
        Assert.Equal([false, false, true, false, true], calls.Select(c => c[^1].Text.StartsWith("Summary so far:", StringComparison.Ordinal)));
        Assert.Equal(ChatMemorySummarizerOptions.DefaultPrompt, calls[2][0].Text);

        // The second process sent the model the pinned prompt, then the summary, then the window.
        Assert.Equal(
            [(ChatRole.System, "Be terse."), (ChatRole.System, "q1 echo #1: q1"), (ChatRole.User, "q2"), (ChatRole.Assistant, "echo #2: q2"), (ChatRole.User, "q3")],
            calls[3].Select(m => (m.Role, m.Text)));

        Assert.Equal(0, show.Code);
        using var json = JsonDocument.Parse(show.Stdout);
        var objects = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(
            [("system", "Be terse."), ("system", "q1 echo #1: q1 q2 echo #2: q2"), ("user", "q3"), ("assistant", "echo #2: q3")],
            objects.Select(e => (e.GetProperty("role").GetString(), e.GetProperty("content").GetString())));
        Assert.Equal([false, true, false, false], objects.Select(e => e.TryGetProperty("summary", out var mark) && mark.GetBoolean()));
        Assert.Equal(1, objects.Count(e => e.TryGetProperty("summary", out _)));
    }

    [Fact]
    public async Task Chat_summarize_with_a_failing_summary_model_keeps_the_messages_pending_says_so_and_exits_4()
    {
        var (server, prefix) = await ServerAsync();

        // The summaries fail (the model answers no text); the chat itself works.
        var model = new StrictChatClient
        {
            Responder = (sent, options, number) => sent[^1].Text.StartsWith("Summary so far:", StringComparison.Ordinal)
                ? new ChatResponse(new ChatMessage(ChatRole.Assistant, ""))
                : ModelEndToEndTests.EchoNumbered(sent, options, number),
        };
        await using var endpoint = LoopbackOpenAIServer.Start(model);

        var run = await Chatmem.RunAsync(null, "q1\nq2\n",
            Redis(server, prefix, "--summarize", "--max-turns", "1", "chat", "c", "--no-recall", "--endpoint", endpoint.BaseUrl.ToString(), "--model", "m", "--api-key", "k"));

        Assert.Equal(4, run.Code);
        Assert.Equal(["echo #1: q1", "echo #2: q2"], Lines(run.Stdout));
        Assert.Equal("chatmem: A summarization failed; its messages stay pending for a later try: The summarizing model answered with no text; the messages stay pending.",
            run.Stderr.Trim());
        Assert.Empty(model.Rejections);

        // Nothing was lost: a summarizer that works folds the first turn.
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix, Summarize = true, MaxTurns = 1 });
        Assert.Equal(["q2", "echo #2: q2"], (await memory.GetHistoryAsync("c")).Select(m => m.Content));
        var summarizer = new ChatMemorySummarizer(memory, new StrictChatClient { Responder = FoldReplies.Fold });
        Assert.Equal(2, await summarizer.SummarizePendingAsync("c"));
        Assert.Equal(["q1 echo #1: q1", "q2", "echo #2: q2"], (await memory.GetHistoryAsync("c")).Select(m => m.Content));
    }

    private static async Task<(ITestServer Server, string Prefix)> ServerAsync() => (await TestServers.GetAsync("redis"), TestServers.UniquePrefix());

    private static string[] Redis(ITestServer server, string prefix, params string[] args) =>
        ["--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, .. args];

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string[] WithoutTtl(string jsonl) =>
        [.. Lines(jsonl).Select(line => System.Text.RegularExpressions.Regex.Replace(line, "\"ttl_ms\":[0-9]+", "\"ttl_ms\":T")).Order(StringComparer.Ordinal)];

    private static async Task<IReadOnlyList<ChatMemoryMessage>> HistoryAsync(ITestServer server, ChatMemoryConfig config, string id)
    {
        await using var memory = new RedisChatMemory(server.ConnectionString, config);
        return await memory.GetHistoryAsync(id);
    }
}

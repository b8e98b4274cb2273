using System.Text.Json;

namespace RactoGateway.Redis.Tests;

/// <summary>chatmem as a user runs it: a separate process, exit codes, stdout and stderr.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("chatmem-cli-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Append_then_a_separate_show_process_sees_it_on_the_embedded_server()
    {
        var append = await RunAsync("--data-dir", _dataDir, "append", "c1", "user", "hi");
        var show = await RunAsync("--data-dir", _dataDir, "show", "c1");

        Assert.Equal(0, append.Code);
        Assert.Equal(0, show.Code);
        Assert.Contains("hi", show.Stdout);
        Assert.Contains("user", show.Stdout);
    }

    [Fact]
    public async Task Show_json_prints_exactly_a_json_array_oldest_first()
    {
        await RunAsync("--data-dir", _dataDir, "append", "c", "user", "café \"q\"");
        await RunAsync("--data-dir", _dataDir, "append", "c", "assistant", "line1\nline2");

        var show = await RunAsync("--data-dir", _dataDir, "show", "c", "--json");

        Assert.Equal(0, show.Code);
        using var json = JsonDocument.Parse(show.Stdout);
        Assert.Equal(
            [("user", "café \"q\""), ("assistant", "line1\nline2")],
            json.RootElement.EnumerateArray().Select(e => (e.GetProperty("role").GetString(), e.GetProperty("content").GetString())));
        Assert.All(json.RootElement.EnumerateArray(), e => Assert.Equal(2, e.EnumerateObject().Count()));
    }

    [Fact]
    public async Task Count_and_clear()
    {
        await RunAsync("--data-dir", _dataDir, "--max-turns", "1", "append", "c", "user", "a");
        await RunAsync("--data-dir", _dataDir, "--max-turns", "1", "append", "c", "assistant", "b");
        await RunAsync("--data-dir", _dataDir, "--max-turns", "1", "append", "c", "user", "c");

        Assert.Equal("2", (await RunAsync("--data-dir", _dataDir, "count", "c")).Stdout.Trim());
        Assert.Equal(0, (await RunAsync("--data-dir", _dataDir, "clear", "c")).Code);
        Assert.Equal("0", (await RunAsync("--data-dir", _dataDir, "count", "c")).Stdout.Trim());
    }

    [Theory]
    [InlineData("append", "c", "wizard", "hi")]
    [InlineData("append", "c")]
    [InlineData("frobnicate")]
    [InlineData("--max-turns", "0", "count", "c")]
    [InlineData("--max-turns", "many", "count", "c")]
    [InlineData("--ttl", "0", "count", "c")]
    [InlineData("append", "  ", "user", "hi")]
    public async Task Bad_arguments_or_input_exit_2_with_one_line_on_stderr(params string[] args)
    {
        var run = await RunAsync(["--data-dir", _dataDir, .. args]);

        Assert.Equal(2, run.Code);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("chatmem: ", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task Parallel_processes_on_one_data_dir_take_turns_and_lose_nothing()
    {
        var runs = await Task.WhenAll(Enumerable.Range(1, 6).Select(i => RunAsync("--data-dir", _dataDir, "append", "p", "user", $"m{i}")));

        Assert.All(runs, run => Assert.Equal(0, run.Code));
        Assert.Equal("6", (await RunAsync("--data-dir", _dataDir, "count", "p")).Stdout.Trim());
    }

    [Fact]
    public async Task An_unusable_data_dir_exits_1_with_one_line()
    {
        // A directory the server cannot use (its checkpoints directory is a file); a data dir that is itself a file is
        // bad input instead (below).
        var unusable = Directory.CreateDirectory(Path.Combine(_dataDir, "unusable")).FullName;
        await File.WriteAllTextAsync(Path.Combine(unusable, "checkpoints"), "");
        var file = unusable;

        var run = await RunAsync("--data-dir", file, "count", "c");

        Assert.Equal(1, run.Code);
        Assert.StartsWith($"chatmem: cannot use data directory {file}: ", run.Stderr);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_data_dir_that_is_a_file_exits_2_saying_it_is_not_a_directory()
    {
        var file = Path.Combine(_dataDir, "a-file");
        await File.WriteAllTextAsync(file, "");

        var run = await RunAsync("--data-dir", file, "count", "c");

        Assert.Equal(2, run.Code);
        Assert.Equal($"chatmem: cannot use data directory {file}: is not a directory", run.Stderr.Trim());
    }

    [Fact]
    public async Task Clear_says_what_it_deleted_and_show_or_clear_of_a_missing_conversation_says_so_with_exit_0()
    {
        await RunAsync("--data-dir", _dataDir, "append", "c1", "user", "a");
        await RunAsync("--data-dir", _dataDir, "append", "c1", "assistant", "b");

        var clear = await RunAsync("--data-dir", _dataDir, "clear", "c1");
        var clearAgain = await RunAsync("--data-dir", _dataDir, "clear", "c1");
        var show = await RunAsync("--data-dir", _dataDir, "show", "c1", "--json");

        Assert.Equal((0, "cleared c1 (2 messages)", ""), (clear.Code, clear.Stdout.Trim(), clear.Stderr));
        Assert.Equal((0, ""), (clearAgain.Code, clearAgain.Stdout));
        Assert.Equal("chatmem: no conversation 'c1' under prefix 'ractogateway:memory'; nothing to clear", clearAgain.Stderr.Trim());
        Assert.Equal((0, "[]"), (show.Code, show.Stdout.Trim()));
        Assert.Equal("chatmem: no conversation 'c1' under prefix 'ractogateway:memory'", show.Stderr.Trim());
    }

    [Fact]
    public async Task A_second_chatmem_names_the_holder_of_the_data_dir_while_it_waits_and_its_limit_is_settable()
    {
        // chat holds the data dir for as long as its stdin is open.
        string[] chatArgs = ["--data-dir", _dataDir, "chat", "s"];
        using var chat = Chatmem.Start(null, chatArgs);
        var chatOutput = chat.StandardOutput.ReadToEndAsync();
        var holder = Path.Combine(_dataDir, "chatmem.lock.holder");
        while (!(File.Exists(holder) && ReadOrEmpty(holder).StartsWith($"pid {chat.Id} (chat)", StringComparison.Ordinal)))
        {
            if (chat.HasExited)
            {
                Assert.Fail($"chat exited {chat.ExitCode}: {await chat.StandardError.ReadToEndAsync()}");
            }

            await Task.Delay(50);
        }

        var waited = await RunAsync(new Dictionary<string, string> { ["CHATMEM_LOCK_TIMEOUT"] = "2" }, "--data-dir", _dataDir, "count", "s");
        var badLimit = await RunAsync(new Dictionary<string, string> { ["CHATMEM_LOCK_TIMEOUT"] = "soon" }, "--data-dir", _dataDir, "count", "s");
        chat.StandardInput.Close();
        await Chatmem.WaitAsync(chat, chatArgs);
        var after = await RunAsync(new Dictionary<string, string> { ["CHATMEM_LOCK_TIMEOUT"] = "0" }, "--data-dir", _dataDir, "count", "s");

        var lines = waited.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, waited.Code);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"chatmem: waiting up to 2 s for another chatmem, pid {chat.Id} (chat), to release {_dataDir}", lines[0]);
        Assert.Contains("`chatmem serve` lets commands run at once", lines[0]);
        // How long the holder has held it (since it took the lock, before this command started), then how long this one waited.
        var held = System.Text.RegularExpressions.Regex.Match(lines[1],
            $@"^chatmem: cannot use data directory {System.Text.RegularExpressions.Regex.Escape(_dataDir)}: another chatmem, pid {chat.Id} \(chat\), has held it for ([0-9.]+) s; waited 2 s ");
        Assert.True(held.Success, lines[1]);
        Assert.True(double.Parse(held.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 2, lines[1]);
        Assert.Equal(2, badLimit.Code);
        Assert.Equal("chatmem: CHATMEM_LOCK_TIMEOUT must be a number of seconds between 0 and 86400 (was 'soon')", badLimit.Stderr.Trim());
        Assert.Equal(0, chat.ExitCode);
        Assert.Equal("", await chatOutput);
        Assert.Equal((0, "0", ""), (after.Code, after.Stdout.Trim(), after.Stderr));
        Assert.False(File.Exists(holder));

        static string ReadOrEmpty(string path)
        {
            try
            {
                return File.ReadAllText(path);
            }
            catch (IOException)
            {
                return "";
            }
        }
    }

    [Theory]
    [InlineData("redis://alice:s3cretpw@127.0.0.1:{port}/0")]
    [InlineData("127.0.0.1:{port},password=s3cretpw")]
    public async Task Unreachable_redis_exits_1_naming_the_endpoint_without_the_password(string url)
    {
        var port = Loopback.FreePort();

        var run = await RunAsync("--redis", url.Replace("{port}", port.ToString()), "count", "c");

        Assert.Equal(1, run.Code);
        Assert.Equal($"chatmem: cannot reach Redis at 127.0.0.1:{port} (UnableToConnect)", run.Stderr.Trim());
        Assert.DoesNotContain("s3cretpw", run.Stdout + run.Stderr);
    }

    [Theory]
    [InlineData("http://:hunter2@127.0.0.1:{port}")]
    [InlineData("tcp://:hunter2@127.0.0.1:{port}")]
    [InlineData("redis:/:hunter2@127.0.0.1:{port}")]
    [InlineData("redis//:hunter2@127.0.0.1:{port}")]
    public async Task A_mistyped_url_exits_2_asking_for_redis_urls_and_never_prints_the_password(string url)
    {
        // Regression (issue 9, defect 5): this printed "cannot reach Redis at http://:hunter2@127.0.0.1:..." with exit 1.
        var run = await RunAsync("--redis", url.Replace("{port}", Loopback.FreePort().ToString()), "count", "c1");

        Assert.Equal(2, run.Code);
        Assert.StartsWith("chatmem: --redis: ", run.Stderr);
        Assert.Contains("use redis:// or rediss://", run.Stderr);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("hunter2", run.Stdout + run.Stderr);
    }

    [Fact]
    public async Task The_redis_url_can_come_from_CHATMEM_REDIS()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();

        await RunAsync(new Dictionary<string, string> { ["CHATMEM_REDIS"] = $"redis://127.0.0.1:{server.Port}" }, "--prefix", prefix, "append", "env", "user", "via env");

        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        Assert.Equal([new ChatMemoryMessage("user", "via env")], await memory.GetHistoryAsync("env"));
    }

    [Fact]
    public async Task Demo_plays_a_conversation_through_two_replicas_and_exits_0()
    {
        var run = await RunAsync("--data-dir", _dataDir, "demo");

        Assert.Equal(0, run.Code);
        Assert.Contains("replica A", run.Stdout);
        Assert.Contains("replica B", run.Stdout);
        Assert.Contains("Any food tips?", run.Stdout);
        Assert.DoesNotContain("Garnet", run.Stdout.Replace("embedded Garnet server", ""));

        // Beyond the window, offline: the summary holds the first two turns, and recall finds the month by meaning.
        Assert.Contains("system (summary)", run.Stdout);
        // The user's own answer (the assistant only asked "When are you going?"), which slid out with turn 2.
        Assert.Contains("recalled for \"Which month am I travelling?\": In May, for four days.\n(the user's own words in turn 2,", run.Stdout);
    }

    [Fact]
    public async Task Bench_json_is_one_object_with_operations()
    {
        var server = await TestServers.GetAsync("redis");

        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "--prefix", TestServers.UniquePrefix(), "bench", "--duration", "1", "--warmup", "0", "--concurrency", "4", "--json");

        Assert.Equal(0, run.Code);
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(
            ["scenario", "concurrency", "ops", "seconds", "ops_per_sec", "p50_ms", "p99_ms", "allocated_bytes_per_op", "connections", "min_threads",
                "client_cpu_seconds", "gen0", "gen1", "gen2", "summarizer", "summarized", "summarizations", "dropped"],
            json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.True(json.RootElement.GetProperty("ops").GetInt64() > 0);
    }

    [Fact]
    public async Task Bench_on_redis_uses_a_prefix_of_its_own_deletes_it_and_prints_no_progress_into_a_redirected_stderr()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();

        // Over 2 s: long enough for progress lines, had they been printed.
        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, "bench", "--duration", "2.5", "--warmup", "0", "--concurrency", "4",
            "--conversations", "50", "--json");

        Assert.Equal(0, run.Code);
        Assert.Equal("", run.Stderr);
        Assert.True(JsonDocument.Parse(run.Stdout).RootElement.GetProperty("ops").GetInt64() > 0);
        Assert.Empty(await KeysAsync(server, prefix));
    }

    [Fact]
    public async Task Bench_interrupted_by_ctrl_c_prints_interrupted_and_the_partial_result_and_deletes_its_keys()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        string[] args = ["--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, "bench", "--duration", "600", "--warmup", "0", "--concurrency", "4",
            "--conversations", "50", "--json"];
        using var bench = Chatmem.Start(null, args);
        var stdout = bench.StandardOutput.ReadToEndAsync();
        var stderr = bench.StandardError.ReadToEndAsync();
        // The measured phase has begun once its appends show up under the bench's own prefix.
        while ((await KeysAsync(server, prefix)).Count == 0)
        {
            if (bench.HasExited)
            {
                Assert.Fail($"bench exited {bench.ExitCode}: {await stderr}");
            }

            await Task.Delay(50);
        }

        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", bench.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        await Chatmem.WaitAsync(bench, args);

        Assert.Equal(130, bench.ExitCode);
        Assert.Equal("chatmem: bench interrupted; partial result:", (await stderr).Trim());
        Assert.True(JsonDocument.Parse(await stdout).RootElement.GetProperty("ops").GetInt64() > 0);
        Assert.Empty(await KeysAsync(server, prefix));
    }

    private static async Task<List<string>> KeysAsync(ITestServer server, string prefix)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString);
        var keys = new List<string>();
        await foreach (var key in connection.GetServers()[0].KeysAsync(pattern: prefix + "*"))
        {
            keys.Add(key!);
        }

        return keys;
    }

    [Theory]
    [InlineData("read")]
    [InlineData("append")]
    [InlineData("chat")]
    public async Task Bench_takes_connections_and_a_thread_pool_minimum(string scenario)
    {
        var server = await TestServers.GetAsync("redis");

        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "--prefix", TestServers.UniquePrefix(), "bench", "--scenario", scenario,
            "--ops", "200", "--warmup", "0", "--concurrency", "4", "--conversations", "10", "--connections", "2", "--min-threads", "16", "--json");

        Assert.True(run.Code == 0, run.Stderr);
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(200, json.RootElement.GetProperty("ops").GetInt64());
        Assert.Equal(2, json.RootElement.GetProperty("connections").GetInt32());
        Assert.Equal(16, json.RootElement.GetProperty("min_threads").GetInt32());
    }

    [Theory]
    [InlineData("recall")]
    [InlineData("recall-search")]
    public async Task Bench_recall_fills_a_vector_set_on_the_embedded_garnet_and_measures_recall(string scenario)
    {
        var run = await RunAsync("bench", "--scenario", scenario, "--recall-messages", "300", "--ops", "50", "--warmup", "0", "--concurrency", "4", "--json");

        Assert.True(run.Code == 0, run.Stderr);
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(scenario, json.RootElement.GetProperty("scenario").GetString());
        Assert.Equal(50, json.RootElement.GetProperty("ops").GetInt64());
    }

    [Fact]
    public async Task Bench_recall_on_a_server_without_vector_sets_says_what_is_needed_and_leaves_no_key()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();

        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, "bench", "--scenario", "recall", "--ops", "1", "--warmup", "0");

        Assert.Equal(2, run.Code);
        Assert.Contains("--scenario recall: ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("Redis 8 or later, or Garnet started with --enable-vector-set-preview", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(await KeysAsync(server, prefix));
    }

    [Fact]
    public async Task Bench_refuses_a_connection_count_out_of_range()
    {
        var server = await TestServers.GetAsync("redis");

        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "bench", "--ops", "1", "--connections", "0");

        Assert.Equal(2, run.Code);
        Assert.Contains("Connections", run.Stderr);
    }

    [Fact]
    public async Task Chat_summarize_offline_folds_what_leaves_the_window_and_show_marks_the_summary_in_the_table_and_in_json()
    {
        // The flags on the append, their variables on the chat: both ways reach ChatMemoryConfig.
        var prompt = await RunAsync("--data-dir", _dataDir, "--pin-system", "--summarize", "append", "c", "system", "Be terse.");
        var chat = await Chatmem.RunAsync(new Dictionary<string, string> { ["CHATMEM_PIN_SYSTEM"] = "1", ["CHATMEM_SUMMARIZE"] = "1" }, "one\ntwo\nthree\n",
            "--data-dir", _dataDir, "--max-turns", "1", "chat", "c");
        var table = await RunAsync("--data-dir", _dataDir, "show", "c");
        var show = await RunAsync("--data-dir", _dataDir, "show", "c", "--json");

        Assert.Equal(0, prompt.Code);
        Assert.True(chat.Code == 0, chat.Stderr);
        Assert.Equal(["echo #1: one", "echo #2: two", "echo #2: three"], chat.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, show.Code);
        using var json = JsonDocument.Parse(show.Stdout);
        var objects = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(
            [("system", "Be terse."), ("system", "user: one\nassistant: echo #1: one\nuser: two\nassistant: echo #2: two"), ("user", "three"), ("assistant", "echo #2: three")],
            objects.Select(e => (e.GetProperty("role").GetString(), e.GetProperty("content").GetString())));
        Assert.Equal([false, true, false, false], objects.Select(e => e.TryGetProperty("summary", out _)));
        Assert.True(objects[1].GetProperty("summary").GetBoolean());
        Assert.Equal(0, table.Code);
        Assert.Single(table.Stdout.Split('\n'), line => line.Contains("system (summary)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Show_help_documents_the_summary_marks()
    {
        var help = await RunAsync("show", "--help");

        Assert.Equal(0, help.Code);
        Assert.Contains("system (summary)", help.Stdout);
        Assert.Contains("\"summary\": true", help.Stdout);
    }

    [Theory]
    [InlineData(null, "--max-pending 0", "--max-pending")]
    [InlineData(null, "--max-pending lots", "--max-pending")]
    [InlineData(null, "--max-pending 1000001", "--max-pending")]
    [InlineData("0", "", "$CHATMEM_MAX_PENDING (--max-pending)")]
    [InlineData("many", "", "$CHATMEM_MAX_PENDING (--max-pending)")]
    public async Task A_bad_pending_cap_exits_2_naming_the_flag_or_the_variable(string? variable, string flags, string named)
    {
        var env = variable is null ? null : new Dictionary<string, string> { ["CHATMEM_MAX_PENDING"] = variable };

        var run = await RunAsync(env, ["--data-dir", _dataDir, "--summarize", .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "count", "c"]);

        Assert.Equal(2, run.Code);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"chatmem: {named} must be a whole number between 1 and 1000000", run.Stderr);
    }

    [Theory]
    [InlineData("instant")]
    [InlineData("none")]
    public async Task Bench_measures_summarized_appends_with_an_instant_summarizer_or_none_and_deletes_its_keys(string summarizer)
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();

        // No timing asserted: only that it runs, counts, and what "none" means (every append evicts one message into a
        // pending part that starts at its cap, so each drops one).
        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, "bench", "--scenario", "append", "--summarize", "--summarizer", summarizer,
            "--ops", "2000", "--warmup", "0", "--concurrency", "4", "--conversations", "20", "--max-pending", summarizer == "none" ? "30" : "1000", "--json");

        Assert.True(run.Code == 0, run.Stderr);
        using var json = JsonDocument.Parse(run.Stdout);
        var result = json.RootElement;
        Assert.Equal(2000, result.GetProperty("ops").GetInt64());
        Assert.Equal(summarizer, result.GetProperty("summarizer").GetString());
        Assert.Equal(summarizer == "none" ? 2000 : 0, result.GetProperty("dropped").GetInt64());
        if (summarizer == "none")
        {
            Assert.Equal(0, result.GetProperty("summarized").GetInt64());
            Assert.Equal(0, result.GetProperty("summarizations").GetInt64());
        }

        Assert.Empty(await KeysAsync(server, prefix));
    }

    [Fact]
    public async Task Bench_without_summarize_reports_summarizer_off_and_refuses_a_summarizer_without_summarize()
    {
        var server = await TestServers.GetAsync("redis");
        string[] redis = ["--redis", $"127.0.0.1:{server.Port}", "--prefix", TestServers.UniquePrefix()];

        var off = await RunAsync([.. redis, "bench", "--fill", "--ops", "200", "--warmup", "0", "--concurrency", "4", "--conversations", "10", "--json"]);
        var refused = await RunAsync([.. redis, "bench", "--summarizer", "instant", "--ops", "1"]);
        var raw = await RunAsync([.. redis, "--summarize", "bench", "--scenario", "raw-append", "--ops", "1"]);
        var recallWithoutInstant = await RunAsync([.. redis, "--summarize", "bench", "--summarizer", "none", "--recall", "--ops", "1"]);

        Assert.True(off.Code == 0, off.Stderr);
        Assert.Equal("off", JsonDocument.Parse(off.Stdout).RootElement.GetProperty("summarizer").GetString());
        Assert.Equal(2, refused.Code);
        Assert.Equal("chatmem: --summarizer needs --summarize (or CHATMEM_SUMMARIZE=1).", refused.Stderr.Trim());
        // The raw-client ceilings left the shipped tool for bench/ (RactoGateway.Redis.RawBench): chatmem refuses them.
        Assert.Equal(2, raw.Code);
        Assert.Contains("raw-append", raw.Stderr, StringComparison.Ordinal);
        Assert.Equal((2, "chatmem: --recall needs --summarize with the instant summarizer."), (recallWithoutInstant.Code, recallWithoutInstant.Stderr.Trim()));
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => Chatmem.RunAsync(args);

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(Dictionary<string, string>? env, params string[] args) => Chatmem.RunAsync(env, args);
}

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
        var file = Path.Combine(_dataDir, "a-file");
        await File.WriteAllTextAsync(file, "");

        var run = await RunAsync("--data-dir", file, "count", "c");

        Assert.Equal(1, run.Code);
        Assert.StartsWith($"chatmem: cannot use data directory {file}: ", run.Stderr);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
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
                "client_cpu_seconds", "gen0", "gen1", "gen2"],
            json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.True(json.RootElement.GetProperty("ops").GetInt64() > 0);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("raw-append")]
    [InlineData("raw-chat")]
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

    [Fact]
    public async Task Bench_refuses_a_connection_count_out_of_range()
    {
        var server = await TestServers.GetAsync("redis");

        var run = await RunAsync("--redis", $"127.0.0.1:{server.Port}", "bench", "--ops", "1", "--connections", "0");

        Assert.Equal(2, run.Code);
        Assert.Contains("Connections", run.Stderr);
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => Chatmem.RunAsync(args);

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(Dictionary<string, string>? env, params string[] args) => Chatmem.RunAsync(env, args);
}

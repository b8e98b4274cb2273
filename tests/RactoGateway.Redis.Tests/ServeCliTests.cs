using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using RactoGateway.Redis.Embeddings;

namespace RactoGateway.Redis.Tests;

/// <summary>chatmem serve as a user runs it: a child process on a free port over a data directory; an application and
/// other chatmem processes use it at once; a signal stops it cleanly and the data stays.</summary>
public sealed partial class ServeCliTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("chatmem-serve-").FullName;

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
    public async Task An_application_and_concurrent_chatmem_commands_use_serve_recall_included_and_SIGTERM_stops_it_keeping_the_data()
    {
        await using var serve = await ServeAsync(_dataDir);

        // The application, through the printed URL: its memory composed with recall, as a service would be.
        using var embeddings = new MiniLMEmbeddingGenerator();
        await using (var app = new RedisChatMemory(serve.Endpoint, new ChatMemoryConfig { Summarize = true, MaxTurns = 1 })
        {
            Features = new ChatMemoryFeatures().AddRecall(embeddings),
        })
        {
            await app.AppendTurnAsync("app", "Hello from the application", "Hi!");

            // Several chatmem processes at once on the served data directory: none waits for the data lock (with the
            // lock held by serve, a command that did not use it would wait and exit 6 after the 2 s given here).
            string[][] first =
            [
                Args("show", "app", "--json"),
                Args("list"),
                Args("append", "side", "user", "appended by chatmem"),
                Args("--summarize", "--max-turns", "1", "chat", "c"),
            ];
            var runs = await Task.WhenAll(first.Select(a => Chatmem.RunAsync(
                LockTimeout, a[^1] == "c" ? "My dog is called Biscuit.\nI like hiking in the mountains.\nCan you recommend a pasta recipe?\n" : null, a)));
            Assert.All(runs, r => Assert.True(r.Code == 0, r.Stderr));
            Assert.Equal(["Hello from the application", "Hi!"], JsonDocument.Parse(runs[0].Stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("content").GetString()));
            Assert.Contains("app", Lines(runs[1].Stdout));
            Assert.Equal("side: 1 message(s) stored", runs[2].Stdout.Trim());

            string[][] second =
            [
                Args("recall", "c", "What is my dog called?", "--top", "1", "--filter", ".role == \"user\"", "--json"),
                Args("show", "side", "--json"),
                Args("count", "app"),
            ];
            runs = await Task.WhenAll(second.Select(a => Chatmem.RunAsync(LockTimeout, a)));
            Assert.All(runs, r => Assert.True(r.Code == 0, r.Stderr));
            var hit = Assert.Single(JsonDocument.Parse(runs[0].Stdout).RootElement.EnumerateArray());
            Assert.Equal("My dog is called Biscuit.", hit.GetProperty("content").GetString());
            Assert.Equal("appended by chatmem", JsonDocument.Parse(runs[1].Stdout).RootElement[0].GetProperty("content").GetString());
            Assert.Equal("2", runs[2].Stdout.Trim());

            // The application recalls on the same server what chatmem's chat indexed.
            var recalled = await app.GetRequiredService<ChatMemoryRecall>().RecallAsync("c", "What is my dog called?", top: 1, filter: ".role == \"user\"");
            Assert.Equal("My dog is called Biscuit.", Assert.Single(recalled).Message.Content);
        }

        var (code, stdout) = await serve.StopAsync("TERM");

        Assert.Equal(0, code);
        Assert.Contains($"stopped; the data stays in {_dataDir}", stdout);
        Assert.False(File.Exists(Path.Combine(_dataDir, "chatmem.serve")));
        Assert.False(File.Exists(Path.Combine(_dataDir, "chatmem.lock.holder")));

        // The data stays: a command without serve (its own embedded server) reads it.
        var after = await Chatmem.RunAsync(LockTimeout, Args("show", "app", "--json"));
        Assert.True(after.Code == 0, after.Stderr);
        Assert.Equal(2, JsonDocument.Parse(after.Stdout).RootElement.GetArrayLength());

        string[] Args(params string[] args) => ["--data-dir", _dataDir, .. args];
    }

    [Fact]
    public async Task Serve_embeds_for_its_clients_the_vectors_this_process_computes()
    {
        await using var serve = await ServeAsync(_dataDir);
        string[] texts = ["My dog is called Biscuit.", "I like hiking in the mountains.", "Ünïcødé, tabs\tand 🐕"];
        using var local = new MiniLMEmbeddingGenerator();
        var expected = await local.GenerateAsync(texts);
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(serve.Endpoint);
        var db = connection.GetDatabase();

        var one = (byte[])(await db.ExecuteAsync("CHATMEM.EMBED", texts[0]))!;
        var three = (byte[])(await db.ExecuteAsync("CHATMEM.EMBED", [.. texts]))!;
        var none = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(() => db.ExecuteAsync("CHATMEM.EMBED"));

        // 384 little-endian floats per text, in order, the same bits as embedding in-process.
        Assert.Equal(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected[0].Vector.Span).ToArray(), one);
        Assert.Equal(3 * 384 * sizeof(float), three.Length);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected[i].Vector.Span).ToArray(), three.AsSpan(i * 1536, 1536).ToArray());
        }

        Assert.Contains("give one or more texts", none.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await serve.StopAsync("TERM")).Code);
    }

    [Fact]
    public async Task Ctrl_C_stops_serve_with_exit_0_a_second_serve_on_the_same_data_dir_exits_6_and_a_taken_port_exits_6()
    {
        await using var serve = await ServeAsync(_dataDir);
        var port = int.Parse(serve.Endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        var other = Directory.CreateTempSubdirectory("chatmem-serve-other-").FullName;
        try
        {
            var second = await Chatmem.RunAsync(LockTimeout, ["--data-dir", _dataDir, "serve", "--port", "0"]);
            var taken = await Chatmem.RunAsync(LockTimeout, ["--data-dir", other, "serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

            Assert.Equal(6, second.Code);
            Assert.Equal($"chatmem: chatmem serve, pid {serve.Process.Id}, already serves {_dataDir} at redis://{serve.Endpoint}: connect there " +
                "(chatmem commands on this data directory already do)", second.Stderr.Trim());
            Assert.Equal(6, taken.Code);
            Assert.Equal($"chatmem: cannot listen on 127.0.0.1:{port}: the port is in use (--port 0 picks a free one)", taken.Stderr.Trim());
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }

        var (code, _) = await serve.StopAsync("INT");
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task A_record_left_by_a_killed_serve_is_ignored_and_removed()
    {
        // A serve killed with SIGKILL leaves its record; its pid and port are gone.
        await File.WriteAllTextAsync(Path.Combine(_dataDir, "chatmem.serve"), $"127.0.0.1:{Loopback.FreePort()} pid {int.MaxValue - 1}\n");

        var run = await Chatmem.RunAsync(LockTimeout, ["--data-dir", _dataDir, "append", "c", "user", "hi"]);

        Assert.Equal((0, ""), (run.Code, run.Stderr));
        Assert.False(File.Exists(Path.Combine(_dataDir, "chatmem.serve")));
    }

    /// <summary>2 s: a command that waited for serve's data lock instead of using serve would exit 6 after it.</summary>
    private static Dictionary<string, string> LockTimeout => new() { ["CHATMEM_LOCK_TIMEOUT"] = "2" };

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Starts <c>chatmem serve --port 0</c> and reads its first line for the port.</summary>
    private static async Task<Served> ServeAsync(string dataDir)
    {
        string[] args = ["--data-dir", dataDir, "serve", "--port", "0"];
        var process = Chatmem.Start(null, args);
        var stderr = process.StandardError.ReadToEndAsync();
        var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(90));
        if (first is null || ListeningLine().Match(first) is not { Success: true } match)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"serve printed '{first}' first; stderr: {await stderr}");
            throw new UnreachableException();
        }

        return new Served(process, args, $"127.0.0.1:{match.Groups[1].Value}", stderr);
    }

    [GeneratedRegex(@"^listening on 127\.0\.0\.1:(\d+)$")]
    private static partial Regex ListeningLine();

    /// <summary>A running serve; disposing it kills it if a test failed before stopping it.</summary>
    private sealed record Served(Process Process, string[] Args, string Endpoint, Task<string> Stderr) : IAsyncDisposable
    {
        /// <summary>Sends SIGTERM or SIGINT by pid and waits for the exit: the exit code and the rest of stdout.</summary>
        public async Task<(int Code, string Stdout)> StopAsync(string signal)
        {
            using (var kill = Process.Start("kill", [$"-{signal}", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            var stdout = await Process.StandardOutput.ReadToEndAsync();
            await Chatmem.WaitAsync(Process, Args);
            Assert.Equal("", await Stderr);
            return (Process.ExitCode, stdout);
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }

            Process.Dispose();
        }
    }
}

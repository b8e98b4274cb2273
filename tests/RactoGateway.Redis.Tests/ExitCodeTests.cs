namespace RactoGateway.Redis.Tests;

/// <summary>chatmem's exit codes by the kind of failure: refused by the server (3) is told apart from unreachable (1).</summary>
public class ExitCodeTests
{
    [Fact]
    public async Task A_wrong_password_exits_3_with_an_authentication_message_and_no_password()
    {
        await using var server = await RedisServerProcess.StartNewAsync("--requirepass", "right-Pw-4c1e");

        var run = await Chatmem.RunAsync("--redis", $"redis://:wrong-Pw-77aa@127.0.0.1:{server.Port}", "count", "c");

        Assert.Equal(3, run.Code);
        Assert.Contains("authentication failed", run.Stderr);
        Assert.DoesNotContain("wrong-Pw-77aa", run.Stdout + run.Stderr);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_command_the_server_refuses_exits_3_naming_the_refusal()
    {
        await using var server = await RedisServerProcess.StartNewAsync();
        await using (var raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}"))
        {
            // A conversation key of the wrong type: the server answers WRONGTYPE.
            await raw.GetDatabase().StringSetAsync("ractogateway:memory:c", "not a list");
        }

        var run = await Chatmem.RunAsync("--redis", $"redis://127.0.0.1:{server.Port}", "count", "c");

        Assert.Equal(3, run.Code);
        Assert.StartsWith($"chatmem: Redis at 127.0.0.1:{server.Port} refused: WRONGTYPE", run.Stderr);
    }

    [Fact]
    public async Task A_lock_wait_that_times_out_exits_6_saying_who_holds_the_data_dir_and_for_how_long()
    {
        var dataDir = Directory.CreateTempSubdirectory("chatmem-busy-").FullName;
        try
        {
            // chat holds the data dir for as long as its stdin is open; its holder line names it once it has the lock.
            string[] chatArgs = ["--data-dir", dataDir, "chat", "s"];
            using var chat = Chatmem.Start(null, chatArgs);
            var holder = Path.Combine(dataDir, "chatmem.lock.holder");
            while (!ReadOrEmpty(holder).StartsWith($"pid {chat.Id} (chat) since ", StringComparison.Ordinal))
            {
                Assert.False(chat.HasExited, "chat exited before taking the data dir");
                await Task.Delay(50);
            }

            var busy = await Chatmem.RunAsync(null, ["--data-dir", dataDir, "--lock-timeout", "0.5", "count", "s"]);
            chat.StandardInput.Close();
            await Chatmem.WaitAsync(chat, chatArgs);

            Assert.Equal(6, busy.Code);
            Assert.Matches($@"^chatmem: cannot use data directory .*: another chatmem, pid {chat.Id} \(chat\), has held it for [0-9.]+ s; waited 0\.5 s \(", busy.Stderr);
            Assert.Single(busy.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }

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

    [Fact]
    public async Task Help_lists_the_exit_codes()
    {
        var help = await Chatmem.RunAsync("--help");

        Assert.Equal(0, help.Code);
        Assert.Contains("Exit codes: 0 ok, 1 Redis unreachable, 2 bad input, 3 refused by the server", help.Stdout);
        Assert.Contains("6 the data directory is busy (another chatmem held it past --lock-timeout", help.Stdout);
    }
}

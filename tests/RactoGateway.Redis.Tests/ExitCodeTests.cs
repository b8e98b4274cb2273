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
    public async Task Help_lists_the_exit_codes()
    {
        var help = await Chatmem.RunAsync("--help");

        Assert.Equal(0, help.Code);
        Assert.Contains("Exit codes: 0 ok, 1 Redis unreachable, 2 bad input, 3 refused by the server", help.Stdout);
    }
}

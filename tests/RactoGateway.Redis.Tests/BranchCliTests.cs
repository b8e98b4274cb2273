namespace RactoGateway.Redis.Tests;

/// <summary><c>chatmem truncate</c> and <c>chatmem fork</c>, run as a separate process against a real redis-server:
/// output, exit codes, refusals that write nothing.</summary>
public sealed class BranchCliTests
{
    [Fact]
    public async Task Truncate_and_fork_print_what_they_did_and_refusals_exit_2_writing_nothing()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        var config = new ChatMemoryConfig { KeyPrefix = prefix, Window = { PinSystemMessages = true } };
        await using var memory = new RedisChatMemory(server.ConnectionString, config);
        await memory.AppendManyAsync("c", [new ChatMemoryMessage("system", "p"), new ChatMemoryMessage("user", "q1"), new ChatMemoryMessage("assistant", "a1"), new ChatMemoryMessage("user", "q2"), new ChatMemoryMessage("assistant", "a2")]);
        await memory.AppendAsync("taken", "user", "mine");
        string[] Args(params string[] args) => ["--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, "--pin-system", .. args];

        var fork = await Chatmem.RunAsync(Args("fork", "c", "d", "--keep", "4"));
        var truncate = await Chatmem.RunAsync(Args("truncate", "c", "--keep", "3"));
        var beyond = await Chatmem.RunAsync(Args("truncate", "c", "--keep", "9"));
        var exists = await Chatmem.RunAsync(Args("fork", "c", "taken", "--keep", "1"));
        var itself = await Chatmem.RunAsync(Args("fork", "c", "c", "--keep", "1"));
        var negative = await Chatmem.RunAsync(Args("truncate", "c", "--keep", "-1"));
        var missing = await Chatmem.RunAsync(Args("truncate", "c"));

        Assert.Equal((0, "forked c into d: first 4 messages (4 elements stored)\n", ""), fork);
        Assert.Equal((0, "truncated c to 3 messages (2 removed)\n", ""), truncate);
        Assert.Equal(2, beyond.Code);
        Assert.StartsWith("chatmem: --keep: Conversation 'c' has 3 message(s)", beyond.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, exists.Code);
        Assert.StartsWith("chatmem: <target>: Conversation 'taken' already exists", exists.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, itself.Code);
        Assert.StartsWith("chatmem: <target>:", itself.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, negative.Code);
        Assert.Contains("--keep", negative.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, missing.Code);
        Assert.Contains("--keep", missing.Stderr, StringComparison.Ordinal);

        Assert.Equal(["p", "q1", "a1"], (await memory.GetHistoryAsync("c")).Select(m => m.Content));
        Assert.Equal(["p", "q1", "a1", "q2"], (await memory.GetHistoryAsync("d")).Select(m => m.Content));
        Assert.Equal(["mine"], (await memory.GetHistoryAsync("taken")).Select(m => m.Content));
    }

    [Fact]
    public async Task Help_describes_both_verbs_and_the_exit_codes()
    {
        var help = await Chatmem.RunAsync("--help");
        var truncate = await Chatmem.RunAsync("truncate", "--help");
        var fork = await Chatmem.RunAsync("fork", "--help");

        Assert.Equal(0, help.Code);
        Assert.Contains("truncate", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("fork", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("Exit codes", help.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, truncate.Code);
        Assert.Contains("--keep", truncate.Stdout, StringComparison.Ordinal);
        Assert.Contains("rolling summary", truncate.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, fork.Code);
        Assert.Contains("<target>", fork.Stdout, StringComparison.Ordinal);
        Assert.Contains("refused", fork.Stdout, StringComparison.Ordinal);
    }
}

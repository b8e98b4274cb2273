using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Bad input throws an ArgumentException naming the parameter, before any network I/O, and writes nothing.</summary>
public class ValidationTests
{
    public static TheoryData<string?, string?, string?, string> BadAppends => new()
    {
        { null, "user", "hi", "conversationId" },
        { "", "user", "hi", "conversationId" },
        { "   ", "user", "hi", "conversationId" },
        { "\t\n", "user", "hi", "conversationId" },
        { "c", null, "hi", "role" },
        { "c", "", "hi", "role" },
        { "c", "User", "hi", "role" },
        { "c", "developer", "hi", "role" },
        { "c", "user", null, "content" },
        { "c", "user", new string('x', 101), "content" },
        { "c", "user", new string('é', 51), "content" },
    };

    public static TheoryData<string, Action<ChatMemoryConfig>> BadConfigs => new()
    {
        { "MaxTurns", c => c.MaxTurns = 0 },
        { "MaxTurns", c => c.MaxTurns = -5 },
        { "MaxTurns", c => c.MaxTurns = int.MaxValue },
        { "Ttl", c => c.Ttl = TimeSpan.FromSeconds(0.5) },
        { "Ttl", c => c.Ttl = TimeSpan.Zero },
        { "Ttl", c => c.Ttl = TimeSpan.FromSeconds(-1) },
        { "KeyPrefix", c => c.KeyPrefix = "" },
        { "KeyPrefix", c => c.KeyPrefix = null! },
        { "MaxMessageBytes", c => c.MaxMessageBytes = 0 },
        { "MaxMessageBytes", c => c.MaxMessageBytes = int.MaxValue },
        { "WaitForReplicas", c => c.WaitForReplicas = -1 },
        { "WaitForReplicasTimeout", c => c.WaitForReplicasTimeout = TimeSpan.Zero },
        { "WaitForReplicasTimeout", c => c.WaitForReplicasTimeout = TimeSpan.FromHours(2) },
    };

    [Theory]
    [MemberData(nameof(BadAppends))]
    public async Task Bad_append_throws_naming_the_parameter_before_any_io(string? conversationId, string? role, string? content, string parameter)
    {
        // Nothing listens on this port: a network attempt would surface as a Redis exception, not an ArgumentException.
        await using var memory = Unreachable(c => c.MaxMessageBytes = 100);

        var async = await Assert.ThrowsAnyAsync<ArgumentException>(() => memory.AppendAsync(conversationId!, role!, content!));
        var sync = Assert.ThrowsAny<ArgumentException>(() => memory.Append(conversationId!, role!, content!));

        Assert.Equal(parameter, async.ParamName);
        Assert.Equal(parameter, sync.ParamName);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public async Task Reads_and_clears_reject_a_bad_conversation_id(string? conversationId)
    {
        await using var memory = Unreachable();

        foreach (var call in new Func<Task>[]
                 {
                     () => memory.GetHistoryAsync(conversationId!), () => memory.CountAsync(conversationId!), () => memory.ClearAsync(conversationId!),
                     () => Task.Run(() => memory.GetHistory(conversationId!)), () => Task.Run(() => memory.Count(conversationId!)),
                     () => Task.Run(() => memory.Clear(conversationId!)),
                 })
        {
            Assert.Equal("conversationId", (await Assert.ThrowsAnyAsync<ArgumentException>(call)).ParamName);
        }
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Invalid_config_is_rejected_at_construction_naming_the_setting(string setting, Action<ChatMemoryConfig> breakIt)
    {
        var config = new ChatMemoryConfig();
        breakIt(config);

        var error = Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory($"127.0.0.1:{Loopback.FreePort()}", config));

        Assert.Equal("config", error.ParamName);
        Assert.Contains("ChatMemoryConfig." + setting, error.Message);
    }

    [Fact]
    public void Invalid_config_is_rejected_with_a_given_connection_too()
    {
        using var connection = ConnectionMultiplexer.Connect($"127.0.0.1:{Loopback.FreePort()},abortConnect=false,connectTimeout=200");

        var error = Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory(connection, new ChatMemoryConfig { MaxTurns = 0 }));

        Assert.Equal("config", error.ParamName);
        Assert.Throws<ArgumentNullException>("client", () => new RedisChatMemory((IConnectionMultiplexer)null!));
    }

    [Theory, AllServers]
    public async Task Rejected_appends_write_nothing(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxMessageBytes = 10);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => bed.Memory.AppendAsync("c", "user", "more than ten bytes"));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => bed.Memory.AppendAsync("c", "wizard", "hi"));
        await bed.Memory.AppendAsync("c", "user", "0123456789");

        Assert.Equal([new ChatMemoryMessage("user", "0123456789")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Fact]
    public async Task Cancelled_token_throws_before_sending()
    {
        await using var memory = Unreachable();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => memory.AppendAsync("c", "user", "hi", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => memory.GetHistoryAsync("c", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => memory.CountAsync("c", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => memory.ClearAsync("c", cancelled.Token));
    }

    [Fact]
    public void The_config_is_copied_so_later_changes_do_not_leak_in()
    {
        var config = new ChatMemoryConfig { MaxTurns = 4 };
        using var memory = new RedisChatMemory($"127.0.0.1:{Loopback.FreePort()},connectTimeout=200", config);
        config.MaxTurns = 0;

        Assert.Equal(4, memory.Config.MaxTurns);
    }

    private static RedisChatMemory Unreachable(Action<ChatMemoryConfig>? configure = null)
    {
        var config = new ChatMemoryConfig();
        configure?.Invoke(config);
        return new RedisChatMemory($"127.0.0.1:{Loopback.FreePort()},connectTimeout=200", config);
    }
}

using System.Text;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>ChatMemoryAdmin: the operator surface applies the service's own rules (window, roles) through the same script.</summary>
public class AdminTests
{
    [Theory, AllServers]
    public async Task Trim_applies_the_configured_window_rule_pins_included_and_leaves_expiry_alone(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString); // an operator: SCAN is beyond the app's least privilege
        var wide = new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 50, Ttl = TimeSpan.FromHours(1), Window = { PinSystemMessages = true } };
        var memory = new RedisChatMemory(connection, wide);
        for (var c = 0; c < 3; c++)
        {
            await memory.AppendAsync($"c{c}", new ChatMemoryMessage("system", "prompt"));
            for (var i = 0; i < 20; i++)
            {
                await memory.AppendTurnAsync($"c{c}", $"q{i}", $"a{i}");
            }
        }

        await memory.AppendTurnAsync("short", "q", "a");
        var admin = new ChatMemoryAdmin(connection, new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 2, Window = { PinSystemMessages = true } });

        var result = await admin.TrimAsync();

        Assert.Equal(new ChatMemoryTrimResult(4, 3, 3 * 36), result);
        var history = await memory.GetHistoryAsync("c1");
        Assert.Equal(["prompt", "q18", "a18", "q19", "a19"], history.Select(m => m.Content));
        Assert.True(await connection.GetDatabase().KeyTimeToLiveAsync(prefix + ":c1") > TimeSpan.FromMinutes(59));
        Assert.Equal(2, await memory.CountAsync("short"));
    }

    [Theory, AllServers]
    public async Task Export_then_import_with_replace_restores_every_field_and_a_bad_line_writes_nothing(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString); // an operator: SCAN is beyond the app's least privilege
        var config = new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 100 };
        var memory = new RedisChatMemory(connection, config);
        ChatMemoryMessage[] messages =
        [
            new("user", "Weather in Paris? é") { MessageId = "m1" },
            new("assistant", "") { ToolCalls = [new("call_1", "get_weather", """{"city":"Paris"}""")] },
            new("tool", "21C") { ToolCallId = "call_1" },
            new("assistant", "It is 21C."),
        ];
        await memory.AppendManyAsync("a", messages);
        await memory.AppendTurnAsync("b", "hi", "hello");
        var admin = new ChatMemoryAdmin(connection, config);

        using var exported = new MemoryStream();
        var written = await admin.ExportAsync(exported);
        await memory.AppendTurnAsync("a", "later", "changed");

        exported.Position = 0;
        var imported = await admin.ImportAsync(exported, replace: true);

        Assert.Equal(new ChatMemoryExportResult(2, 6, 0), written);
        Assert.Equal(new ChatMemoryImportResult(2, 6), imported);
        Assert.Equal(messages, await memory.GetHistoryAsync("a"));
        Assert.Equal(["b", "a"], (await ToListAsync(admin.ListConversationsAsync())).Order().Reverse());

        var bad = new MemoryStream(Encoding.UTF8.GetBytes(
            """{"conversation":"x","messages":[{"role":"user","content":"hi"}]}""" + "\n" + """{"conversation":"y","messages":[{"role":"user","content":"x","id":""}]}"""));
        var error = await Assert.ThrowsAsync<FormatException>(() => admin.ImportAsync(bad));
        Assert.StartsWith("line 2: message 1: \"id\" is empty; nothing was imported", error.Message);
        Assert.Equal(0, await memory.CountAsync("x"));
    }

    [Theory, AllServers]
    public async Task Stats_count_conversations_messages_and_expiries(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString); // an operator: SCAN is beyond the app's least privilege
        var memory = new RedisChatMemory(connection, new ChatMemoryConfig { KeyPrefix = prefix, Ttl = TimeSpan.FromMinutes(10) });
        for (var c = 0; c < 5; c++)
        {
            await memory.AppendTurnAsync($"s{c}", "q", "a");
        }

        var stats = await new ChatMemoryAdmin(connection, new ChatMemoryConfig { KeyPrefix = prefix }).GetStatsAsync(sample: 2);

        Assert.Equal((5, 10, 0), (stats.Conversations, stats.Messages, stats.WithoutExpiry));
        Assert.InRange(stats.MaxTimeToLive!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Bad_arguments_are_refused_before_any_io()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Loopback.FreePort()},abortConnect=false,connectTimeout=200");
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => new ChatMemoryAdmin(connection, new ChatMemoryConfig { MaxTurns = 0 })).ParamName);
        var admin = new ChatMemoryAdmin(connection);
        await Assert.ThrowsAsync<ArgumentException>(() => admin.TrimAsync(match: ""));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => admin.GetStatsAsync(sample: -1));
        await Assert.ThrowsAsync<ArgumentNullException>(() => admin.ImportAsync(null!));
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}

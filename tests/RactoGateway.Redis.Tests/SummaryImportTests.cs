using System.Text;
using RactoGateway.Redis.Testing;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>Export, then import, of conversations with a rolling summary: restored byte for byte (pinned messages,
/// summary text and counters, pending messages, window), the summarizer goes on from where it was, the importer's
/// window applies, a summary is never merged into a conversation that exists, and a misplaced summary is bad input.</summary>
public class SummaryImportTests
{
    [Theory, AllServers]
    public async Task A_summarized_conversation_is_restored_exactly_and_the_summarizer_goes_on_from_it(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString); // SCAN: an operator
        var db = connection.GetDatabase();
        var source = Config(maxTurns: 2);
        var memory = new RedisChatMemory(connection, source);
        await memory.AppendAsync("c", "system", "You are terse.");
        await AppendAsync(memory, "c", 0, 8);
        await new ChatMemorySummarizer(memory, new StrictChatClient { Responder = FoldReplies.Fold }).SummarizePendingAsync("c");
        await AppendAsync(memory, "c", 8, 12); // m4..m7 pending again, m8..m11 in the window
        // At scale: 3,000 messages with no summarizer, 2,990 of them pending (pushed in chunks of 1,000).
        var big = Config(maxTurns: 5, maxPending: 5000);
        big.KeyPrefix = source.KeyPrefix;
        var bigMemory = new RedisChatMemory(connection, big);
        for (var n = 0; n < 3000; n += 500)
        {
            await bigMemory.AppendManyAsync("big", Enumerable.Range(n, 500).Select(i => new ChatMemoryMessage(i % 2 == 0 ? "user" : "assistant", $"b{i}") { MessageId = $"id{i}" }));
        }

        await db.KeyExpireAsync(Key(source, "c"), TimeSpan.FromHours(1));
        var exported = await ExportAsync(connection, source);

        // Into conversations that do not exist yet, with the same rules: the very same bytes, expiry included.
        var target = Config(maxTurns: 5, maxPending: 5000);
        var imported = await new ChatMemoryAdmin(connection, target).ImportAsync(new MemoryStream(exported));
        Assert.Equal(new ChatMemoryImportResult(2, 3011), imported);
        foreach (var id in new[] { "c", "big" })
        {
            Assert.Equal(await RawAsync(db, Key(source, id)), await RawAsync(db, Key(target, id)));
        }

        Assert.InRange((await db.KeyTimeToLiveAsync(Key(target, "c")))!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        var restored = new RedisChatMemory(connection, target);
        Assert.Equal(await memory.GetHistoryAsync("c"), await restored.GetHistoryAsync("c"));
        Assert.Equal("system:You are terse. | system:m0 m1 m2 m3 (summary) | user:m8 | assistant:m9 | user:m10 | assistant:m11",
            Show(await restored.GetHistoryAsync("c")));
        Assert.Equal(10, (await restored.GetHistoryAsync("big")).Count);

        // The summarizer folds exactly the pending messages, counting on from the restored counters, in the same epoch.
        var before = Header(await RawAsync(db, Key(target, "c")));
        Assert.Equal(4, await new ChatMemorySummarizer(restored, new StrictChatClient { Responder = FoldReplies.Fold }).SummarizePendingAsync("c"));
        var after = Header(await RawAsync(db, Key(target, "c")));
        Assert.Equal((4L, 4L, before.Epoch), (before.Pending, before.Folded, after.Epoch));
        Assert.Equal((0L, 8L), (after.Pending, after.Folded));
        Assert.Equal("system:You are terse. | system:m0 m1 m2 m3 m4 m5 m6 m7 (summary) | user:m8 | assistant:m9 | user:m10 | assistant:m11",
            Show(await restored.GetHistoryAsync("c")));

        // Without replace, a summary is not merged into a conversation that exists: bad input, nothing written.
        var afterFold = await RawAsync(db, Key(target, "c"));
        var refused = await Assert.ThrowsAsync<FormatException>(() => new ChatMemoryAdmin(connection, target).ImportAsync(new MemoryStream(exported)));
        Assert.Contains("has a rolling summary and already exists", refused.Message, StringComparison.Ordinal);
        Assert.Equal(afterFold, await RawAsync(db, Key(target, "c")));

        // With replace, back to the export.
        await new ChatMemoryAdmin(connection, target).ImportAsync(new MemoryStream(exported), replace: true);
        Assert.Equal(await RawAsync(db, Key(source, "c")), await RawAsync(db, Key(target, "c")));

        // An importer with a smaller window applies it as a trim would: two more messages become pending.
        var smaller = Config(maxTurns: 1);
        await new ChatMemoryAdmin(connection, smaller).ImportAsync(new MemoryStream(exported), replace: true);
        Assert.Equal("system:You are terse. | system:m0 m1 m2 m3 (summary) | user:m10 | assistant:m11",
            Show(await new RedisChatMemory(connection, smaller).GetHistoryAsync("c")));
        Assert.Equal((6L, 4L, before.Epoch), (Header(await RawAsync(db, Key(smaller, "c"))) is var h ? (h.Pending, h.Folded, h.Epoch) : default));

        // An importer whose rules keep no summary (an operator without --summarize) does not trim it away: as exported.
        var plain = new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), MaxTurns = 1 };
        await new ChatMemoryAdmin(connection, plain).ImportAsync(new MemoryStream(exported));
        Assert.Equal(await RawAsync(db, Key(source, "c")), await RawAsync(db, Key(plain, "c")));
    }

    [Theory]
    [InlineData("""[{"role":"user","content":"hi"},{"role":"system","summary":{"pending":0,"folded":1,"dropped":0,"epoch":"1"},"content":"s"}]""", "message 2 is a rolling summary, which may only follow system messages")]
    [InlineData("""[{"role":"system","summary":{"pending":0,"folded":1,"dropped":0,"epoch":"1"},"content":"s"},{"role":"system","summary":{"pending":0,"folded":1,"dropped":0,"epoch":"1"},"content":"t"}]""", "message 2 is a rolling summary, which may only follow system messages, once")]
    [InlineData("""[{"role":"system","summary":{"pending":3,"folded":1,"dropped":0,"epoch":"1"},"content":"s"},{"role":"user","content":"hi"}]""", "counts 3 pending messages, but only 1 follow it")]
    public async Task A_misplaced_summary_is_bad_input_and_nothing_is_written(string messages, string expected)
    {
        var server = await TestServers.GetAsync("redis");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.AdminConnectionString);
        var config = Config(maxTurns: 5);
        var input = $$"""{"conversation":"ok","messages":[{"role":"user","content":"first"}]}""" + "\n" + $$"""{"conversation":"bad","messages":{{messages}}}""";

        var error = await Assert.ThrowsAsync<FormatException>(() => new ChatMemoryAdmin(connection, config).ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(input))));

        Assert.StartsWith("line 2: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(await connection.GetDatabase().KeyExistsAsync(Key(config, "ok")));
    }

    [Theory, AllServers]
    public async Task The_restoring_script_writes_nothing_into_a_conversation_that_exists(string serverName)
    {
        // What the importer's check before writing cannot see: a conversation created after it, before the write.
        await using var bed = await TestBed.CreateAsync(serverName, c => c.Summarize = true);
        await bed.Memory.AppendAsync("c", "user", "mine");
        var script = new Scripts.AppendScript(bed.Config);
        var connection = bed.Memory.Connections.Multiplexers[0];
        (ReadOnlyMemory<byte>, string?)[] elements =
            [("""{"role":"system","summary":{"pending":0,"folded":1,"dropped":0,"epoch":"1"},"content":"s"}"""u8.ToArray(), null)];

        Assert.Equal(-1, await script.RestoreAsync(connection, bed.Key("c"), elements, 0, replace: false));
        Assert.Equal(["mine"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));
        Assert.Equal(1, await script.RestoreAsync(connection, bed.Key("c"), elements, 0, replace: true));
        Assert.Equal(["s"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));
    }

    private static ChatMemoryConfig Config(int maxTurns, int maxPending = 1000)
    {
        var config = new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), MaxTurns = maxTurns, Summarize = true, MaxPendingMessages = maxPending };
        config.Window.PinSystemMessages = true;
        return config;
    }

    private static RedisKey Key(ChatMemoryConfig config, string id) => config.KeyPrefix + ":" + id;

    private static async Task AppendAsync(RedisChatMemory memory, string id, int from, int to)
    {
        for (var n = from; n < to; n++)
        {
            await memory.AppendAsync(id, n % 2 == 0 ? "user" : "assistant", $"m{n}");
        }
    }

    private static async Task<byte[]> ExportAsync(IConnectionMultiplexer connection, ChatMemoryConfig config)
    {
        using var stream = new MemoryStream();
        await new ChatMemoryAdmin(connection, config).ExportAsync(stream);
        return stream.ToArray();
    }

    private static async Task<string[]> RawAsync(IDatabase db, RedisKey key) =>
        (await db.ListRangeAsync(key)).Select(e => Encoding.UTF8.GetString((byte[])e!)).ToArray();

    private static SummaryHeader Header(string[] elements) =>
        elements.Select(e => SummaryElement.TryReadHeader(Encoding.UTF8.GetBytes(e), out var h) ? h : (SummaryHeader?)null).Single(h => h is not null)!.Value;

    private static string Show(IEnumerable<ChatMemoryMessage> messages) =>
        string.Join(" | ", messages.Select(m => $"{m.Role}:{m.Content}" + (m.IsSummary ? " (summary)" : "")));
}

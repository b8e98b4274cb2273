using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>Optional fields for real LLM traffic: written only when set, read back exactly, still readable by Python.</summary>
public class MessageFieldsTests
{
    private static readonly ChatMemoryMessage Rich = new("assistant", "Let me check.")
    {
        MessageId = "msg_42",
        Timestamp = new DateTimeOffset(2026, 11, 25, 10, 30, 0, TimeSpan.Zero),
        AuthorName = "planner",
        ToolCalls = [new ChatMemoryToolCall("call_1", "get_weather", """{"city":"Paris","units":"C"}""")],
        Metadata = new Dictionary<string, string> { ["trace"] = "abc", ["lang"] = "fr" },
    };

    /// <summary>ChatMemoryConfig.StampTimes: every append path stores the time of the append where a message has none,
    /// keeps a message's own, and leaves what the caller passed alone; off, nothing gains a time.</summary>
    [Theory, AllServers]
    public async Task StampTimes_stores_the_append_time_on_every_path_and_keeps_a_messages_own(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.StampTimes = true);
        await using var plain = await TestBed.CreateAsync(server);
        var own = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var mine = new ChatMemoryMessage(ChatRoles.User, "mine");
        var before = DateTimeOffset.UtcNow;

        await bed.Memory.AppendAsync("c", ChatRoles.User, "plain");
        await bed.Memory.AppendAsync("c", mine);
        bed.Memory.AppendTurn("c", new ChatMemoryMessage(ChatRoles.User, "sync question"), new ChatMemoryMessage(ChatRoles.Assistant, "sync answer"));
        await bed.Memory.AppendManyAsync("c", [new ChatMemoryMessage(ChatRoles.User, "dated") { Timestamp = own }]);
        using (var client = new ChatClientBuilder(new EchoChatClient()).UseChatMemory(bed.Memory).Build())
        {
            await client.GetResponseAsync("through the middleware", new ChatOptions { ConversationId = "c" });
        }

        var after = DateTimeOffset.UtcNow;
        await plain.Memory.AppendAsync("c", ChatRoles.User, "unstamped");

        var stored = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(["plain", "mine", "sync question", "sync answer", "dated", "through the middleware", "echo: through the middleware (I remember 5 earlier messages)"],
            stored.Select(m => m.Content));
        Assert.All(stored.Where(m => m.Content != "dated"), m => Assert.InRange(m.Timestamp!.Value, before.AddMilliseconds(-1), after.AddMilliseconds(1)));
        Assert.Equal(own, stored.Single(m => m.Content == "dated").Timestamp);
        Assert.Null(mine.Timestamp);
        Assert.Null(Assert.Single(await plain.Memory.GetHistoryAsync("c")).Timestamp);
    }

    [Theory, AllServers]
    public async Task Every_field_round_trips_through_redis(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var result = new ChatMemoryMessage("tool", "{\"temp\":21}") { ToolCallId = "call_1", MessageId = "msg_43" };

        await bed.Memory.AppendManyAsync("c", [Rich, result]);

        Assert.Equal([Rich, result], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task Python_reads_a_tool_call_history_as_dicts_and_plain_messages_as_two_fields(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendManyAsync("c", [
            new ChatMemoryMessage("user", "Weather in Paris?"),
            Rich,
            new ChatMemoryMessage("tool", "21C") { ToolCallId = "call_1" },
            new ChatMemoryMessage("assistant", "It is 21C."),
        ]);
        var elements = (await bed.Raw.ListRangeAsync(bed.Key("c"))).Select(e => (byte[])e!).ToList();

        // The seed's get_history: json.loads of each element.
        var python = Python.Run(
            """
            import json, sys
            for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
                d = json.loads(line)
                assert type(d) is dict and type(d['role']) is str and type(d['content']) is str
                print(len(d), d['role'], sorted(d))
            """,
            Encoding.UTF8.GetBytes(string.Join('\n', elements.Select(Encoding.UTF8.GetString))));

        Assert.Equal(
            [
                "2 user ['content', 'role']",
                "7 assistant ['content', 'id', 'metadata', 'name', 'role', 'timestamp', 'tool_calls']",
                "3 tool ['content', 'role', 'tool_call_id']",
                "2 assistant ['content', 'role']",
            ],
            python);
    }

    [Theory, AllServers]
    public async Task Messages_the_foundation_wrote_still_read(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Raw.ListRightPushAsync(bed.Key("c"), [
            """{"role":"user","content":"compact"}""",
            """{"role": "assistant", "content": "python", "extra": [1, 2]}""",
        ]);

        Assert.Equal([new("user", "compact"), new ChatMemoryMessage("assistant", "python")], await bed.Memory.GetHistoryAsync("c"));
    }
}

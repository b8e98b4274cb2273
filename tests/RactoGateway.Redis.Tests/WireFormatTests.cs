using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>The seed's wire format: one JSON object {"role","content"} per list element, readable both ways with Python.</summary>
public class WireFormatTests
{
    // Exactly what Python's json.dumps({"role": ..., "content": ...}) writes: ", " and ": " separators, \u escapes.
    public static TheoryData<string, string, string> PythonGolden => new()
    {
        { """{"role": "user", "content": "What is the capital of France?"}""", "user", "What is the capital of France?" },
        { """{"role": "user", "content": "caf\u00e9 \ud83d\ude00"}""", "user", "café 😀" },
        { """{"role": "assistant", "content": "She said \"hi\"\nand left.\tOK\\"}""", "assistant", "She said \"hi\"\nand left.\tOK\\" },
        { """{"role": "system", "content": ""}""", "system", "" },
        { """{"role": "assistant", "content": "\u65e5\u672c\u8a9e \u0645\u0631\u062d\u0628\u0627 <b>&amp;</b>"}""", "assistant", "日本語 مرحبا <b>&amp;</b>" },
        { """{"role": "user", "content": "\u0000\u001f control"}""", "user", "\0\u001f control" },
    };

    [Theory]
    [MemberData(nameof(PythonGolden))]
    public void Decodes_what_python_json_dumps_writes(string golden, string role, string content) =>
        Assert.Equal(new ChatMemoryMessage(role, content), MessageCodec.TryDecode(Encoding.UTF8.GetBytes(golden)));

    [Theory]
    [MemberData(nameof(PythonGolden))]
    public void Encodes_an_object_with_exactly_role_and_content_as_strings(string golden, string role, string content)
    {
        using var written = JsonDocument.Parse(MessageCodec.Encode(role, content));
        using var expected = JsonDocument.Parse(golden);

        Assert.Equal(JsonValueKind.Object, written.RootElement.ValueKind);
        Assert.Equal(["role", "content"], written.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(expected.RootElement.GetProperty("role").GetString(), written.RootElement.GetProperty("role").GetString());
        Assert.Equal(expected.RootElement.GetProperty("content").GetString(), written.RootElement.GetProperty("content").GetString());
    }

    [Fact]
    public void Plain_message_is_written_compactly_in_role_then_content_order() =>
        Assert.Equal("""{"role":"user","content":"hi \"you\"\n"}""", Encoding.UTF8.GetString(MessageCodec.Encode("user", "hi \"you\"\n")));

    [Fact]
    public void One_mebibyte_of_content_round_trips()
    {
        var content = new string('x', 1024 * 1024 - 3) + "é!";
        Assert.Equal(new ChatMemoryMessage("user", content), MessageCodec.TryDecode(MessageCodec.Encode("user", content)));
    }

    [Theory, AllServers]
    public async Task Reads_python_written_elements_from_redis_and_python_can_read_ours(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Raw.ListRightPushAsync(bed.Key("py"), """{"role": "user", "content": "caf\u00e9 \ud83d\ude00"}""");
        await bed.Memory.AppendAsync("py", "assistant", "Très bien 👍 \"quoted\"\nline");

        Assert.Equal(
            [new("user", "café 😀"), new ChatMemoryMessage("assistant", "Très bien 👍 \"quoted\"\nline")],
            await bed.Memory.GetHistoryAsync("py"));

        var ours = (byte[])(await bed.Raw.ListGetByIndexAsync(bed.Key("py"), 1))!;
        Assert.Equal("{'role': 'assistant', 'content': 'Très bien 👍 \"quoted\"\\nline'}", PythonRepr(ours));
    }

    [Theory, AllServers]
    public async Task Empty_and_one_mebibyte_content_round_trip_through_redis(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var big = string.Concat(Enumerable.Repeat("0123456789abcdef", 64 * 1024));
        await bed.Memory.AppendAsync("c", "user", "");
        await bed.Memory.AppendAsync("c", "assistant", big);

        var history = await bed.Memory.GetHistoryAsync("c");

        Assert.Equal("", history[0].Content);
        Assert.Equal(1024 * 1024, history[1].Content.Length);
        Assert.Equal(big, history[1].Content);
    }

    /// <summary>What the seed's get_history returns for one element: Python's json.loads, printed with repr.</summary>
    private static string PythonRepr(byte[] element) => string.Join('\n', Python.Run(
        "import json,sys; d=json.loads(sys.stdin.buffer.read().decode('utf-8')); assert type(d) is dict and all(type(v) is str for v in d.values()); sys.stdout.buffer.write(repr(d).encode('utf-8'))",
        element));
}

using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>The seed's wire format: one JSON object {"role","content"} per list element, readable both ways with Python.</summary>
public class WireFormatTests
{
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

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
}

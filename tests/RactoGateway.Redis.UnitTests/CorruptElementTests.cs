using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>A corrupt element is skipped (and logged once per read with the count); the messages around it survive.</summary>
public class CorruptElementTests
{
    private static readonly string[] CorruptElements =
    [
        "not json at all",
        "{\"role\": \"user\", \"content\": \"unterminated",
        "123",
        "\"just a string\"",
        "null",
        "[]",
        "[\"user\", \"hi\"]",
        "{}",
        "{\"role\": \"user\"}",
        "{\"content\": \"no role\"}",
        "{\"role\": 1, \"content\": \"x\"}",
        "{\"role\": \"user\", \"content\": 5}",
        "{\"role\": \"user\", \"content\": null}",
        "{\"role\": \"user\", \"content\": {\"nested\": true}}",
        "{\"role\": \"user\", \"content\": \"\\ud83d lone surrogate\"}",
        "",
        "{\"role\": \"user\", \"content\": \"x\"} trailing",
        "{\"role\": \"user\", \"content\": \"x\", \"id\": 7}",
        "{\"role\": \"user\", \"content\": \"x\"",
    ];

    public static TheoryData<string> Corrupt => new(CorruptElements);

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void Corrupt_element_decodes_to_null(string element) =>
        Assert.Null(MessageCodec.TryDecode(element));

    [Fact]
    public void Invalid_utf8_decodes_to_null() =>
        Assert.Null(MessageCodec.TryDecode(new byte[] { (byte)'{', 0xff, 0xfe, (byte)'}' }));
}

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

    [Theory, AllServers]
    public async Task Corrupt_elements_are_skipped_and_logged_once_with_their_count(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 50);
        var key = bed.Key("c");
        await bed.Memory.AppendAsync("c", "user", "first");
        foreach (var bad in CorruptElements)
        {
            await bed.Raw.ListRightPushAsync(key, bad);
        }

        await bed.Memory.AppendAsync("c", "assistant", "last");

        var history = await bed.Memory.GetHistoryAsync("c");

        Assert.Equal([new("user", "first"), new ChatMemoryMessage("assistant", "last")], history);
        var warning = Assert.Single(bed.Logger.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"Skipped {CorruptElements.Length} corrupt element(s) of {CorruptElements.Length + 2}", warning.Message);
        Assert.Equal(CorruptElements.Length + 2, await bed.Memory.CountAsync("c"));
    }

    [Theory, AllServers]
    public async Task A_clean_read_logs_nothing(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("c", "user", "hi");

        Assert.Single(await bed.Memory.GetHistoryAsync("c"));
        Assert.Empty(bed.Logger.Entries);
    }
}

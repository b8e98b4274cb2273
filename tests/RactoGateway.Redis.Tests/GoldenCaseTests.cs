using System.Text;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The golden cases (tests/golden/append-cases.json) against the scripts on every server: each case's list before is
/// stored as it is, the append (or the trim) runs, and the list after, the reply and the expiry must be the case's.
/// Appends run twice, on two keys: through the memory's path (pooled EVALSHA; the classic call on a cluster) and
/// through the classic call with AppendArguments' array, so that both forms of the one argument writer are held to it.
/// </summary>
public class GoldenCaseTests
{
    [Theory, AllServers]
    public async Task Every_golden_case_holds_on_the_scripts(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var failures = new List<string>();
        for (var n = 0; n < GoldenCase.All.Count; n++)
        {
            var golden = GoldenCase.All[n];
            var script = new AppendScript(golden.Config(bed.Config.KeyPrefix));
            if (golden.Append is { } append && !golden.Replace)
            {
                var messages = append.Select(Message).ToArray();
                var pooledKey = bed.Key($"golden{n}");
                await StoreAsync(bed, pooledKey, golden.Before);
                var outcome = await script.AppendAsync(new ChatConnection(bed.RawConnection), pooledKey, messages);
                await CheckAsync(bed, golden, pooledKey, outcome, "memory's path", failures);

                var classicKey = bed.Key($"golden{n}-classic");
                await StoreAsync(bed, classicKey, golden.Before);
                outcome = await script.RunAsync(bed.RawConnection, classicKey, script.Arguments.Append(messages));
                await CheckAsync(bed, golden, classicKey, outcome, "classic call", failures);
            }
            else
            {
                var key = bed.Key($"golden{n}");
                await StoreAsync(bed, key, golden.Before);
                var args = golden.Append is { } imported
                    ? script.Arguments.Import([.. imported.Select(e => ((ReadOnlyMemory<byte>)GoldenCase.Bytes(e), Message(e).MessageId))], golden.TtlMs, golden.Replace)
                    : script.Arguments.Trim();
                await CheckAsync(bed, golden, key, await script.RunAsync(bed.RawConnection, key, args), golden.Append is null ? "trim" : "import", failures);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(GoldenCase.All.Count >= 30);
    }

    /// <summary>The message an element decodes to; its encoding must give the element's bytes back, or the case would
    /// test another element than it shows.</summary>
    private static ChatMemoryMessage Message(string element)
    {
        var message = MessageCodec.TryDecode(GoldenCase.Bytes(element)) ?? throw new InvalidOperationException($"Not a message: {element}");
        Assert.Equal(element, Encoding.UTF8.GetString(MessageCodec.Encode(message)));
        return message;
    }

    private static async Task StoreAsync(TestBed bed, RedisKey key, IReadOnlyList<string> elements)
    {
        await bed.Raw.KeyDeleteAsync(key);
        if (elements.Count > 0)
        {
            await bed.Raw.ListRightPushAsync(key, [.. elements.Select(e => (RedisValue)e)]);
        }
    }

    private static async Task CheckAsync(TestBed bed, GoldenCase golden, RedisKey key, AppendOutcome outcome, string path, List<string> failures)
    {
        var after = (await bed.Raw.ListRangeAsync(key)).Select(e => (string)e!).ToList();
        var ttl = await bed.Raw.KeyTimeToLiveAsync(key);
        var expires = golden.TtlMs > 0 && golden.Append is not null;
        var ttlHolds = expires ? ttl is { } left && left > TimeSpan.Zero && left <= TimeSpan.FromMilliseconds(golden.TtlMs) : ttl is null;
        long[] reply = [outcome.Stored, outcome.Pending, outcome.Dropped];
        if (!golden.Matches(after) || !reply.SequenceEqual(golden.Reply) || !ttlHolds)
        {
            failures.Add($"{golden.Name} ({path}): reply [{string.Join(", ", reply)}], expiry {ttl?.TotalMilliseconds.ToString() ?? "none"}, " +
                $"list after ({after.Count}): {string.Join(" ", after.Take(12))}");
        }
    }
}

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Keeping evicted messages (the summary's rule "f") must not change the window: for random sequences of batches
/// (system, user, assistant, tool calls and results, ids) under random window rules, a memory with
/// <see cref="ChatMemoryConfig.Summarize"/> reads back exactly what one without it reads, after every step, and its
/// pending messages are exactly what the other dropped (pinned messages past the bound aside). Retries are left out on
/// purpose: a retry of an evicted message is stored again without the summary, and recognised while pending with it.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class SummaryEquivalenceTests
{
    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("cluster")]
    public async Task Summarize_keeps_the_window_exactly_as_without_it(string server)
    {
        const int Sequences = 150, Steps = 30;
        var random = new Random(20261126);
        for (var s = 0; s < Sequences; s++)
        {
            var maxTurns = random.Next(1, 4);
            var pin = random.Next(2) == 0;
            var tools = random.Next(2) == 0;
            var maxPinned = random.Next(1, 4);
            void Rules(ChatMemoryConfig c)
            {
                c.MaxTurns = maxTurns;
                c.Window.PinSystemMessages = pin;
                c.Window.ToolCallAware = tools;
                c.Window.MaxPinnedMessages = maxPinned;
            }

            await using var plain = await TestBed.CreateAsync(server, Rules);
            await using var folding = await TestBed.CreateAsync(server, c =>
            {
                Rules(c);
                c.Summarize = true;
                c.MaxPendingMessages = 10_000;
            });
            var appended = new List<string>();
            for (var step = 0; step < Steps; step++)
            {
                var batch = Batch(random, s, step);
                appended.AddRange(batch.Select(m => m.Content));
                await plain.Memory.AppendManyAsync("c", batch);
                await folding.Memory.AppendManyAsync("c", batch);
                var expected = await plain.Memory.GetHistoryAsync("c");
                var actual = await folding.Memory.GetHistoryAsync("c");
                Assert.True(
                    expected.SequenceEqual(actual),
                    $"seed step {s}/{step} (turns {maxTurns}, pin {pin}, tools {tools}, pinned {maxPinned}): " +
                    $"[{string.Join(",", expected.Select(m => m.Content))}] vs [{string.Join(",", actual.Select(m => m.Content))}]");
            }

            if (await folding.Raw.ListLengthAsync(folding.Key("c")) > await plain.Raw.ListLengthAsync(plain.Key("c")))
            {
                // Pending = what the plain memory dropped, in order, except system messages (pinned, or dropped by the bound).
                var (_, _, pending, _) = await SummaryTests.LayoutAsync(folding, "c");
                var kept = (await plain.Memory.GetHistoryAsync("c")).Select(m => m.Content).ToHashSet();
                var dropped = appended.Distinct().Where(c => !kept.Contains(c) && !c.StartsWith("sys", StringComparison.Ordinal)).ToList();
                Assert.Equal(dropped, pending.Where(c => !c.StartsWith("sys", StringComparison.Ordinal)));
            }
        }
    }

    /// <summary>One to three messages: a system message, a user or assistant message (some with ids), or a tool call
    /// with its result.</summary>
    private static List<ChatMemoryMessage> Batch(Random random, int sequence, int step)
    {
        var tag = $"{sequence}.{step}";
        var batch = new List<ChatMemoryMessage>();
        for (var i = 0; i < random.Next(1, 4); i++)
        {
            var id = $"{tag}.{i}";
            switch (random.Next(6))
            {
                case 0:
                    batch.Add(new ChatMemoryMessage("system", "sys" + id));
                    break;
                case 1:
                    batch.Add(new ChatMemoryMessage("assistant", "call" + id) { ToolCalls = [new("t" + id, "f", "{}")] });
                    batch.Add(new ChatMemoryMessage("tool", "result" + id) { ToolCallId = "t" + id });
                    break;
                case 2:
                    batch.Add(new ChatMemoryMessage("assistant", "a" + id));
                    break;
                case 3:
                    batch.Add(new ChatMemoryMessage("user", "u" + id) { MessageId = "m" + id });
                    break;
                default:
                    batch.Add(new ChatMemoryMessage("user", "u" + id));
                    break;
            }
        }

        return batch;
    }
}

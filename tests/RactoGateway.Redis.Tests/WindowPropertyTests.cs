namespace RactoGateway.Redis.Tests;

/// <summary>
/// Random sequences of append, append-turn, append-many and clear, on real servers, compared after every step with
/// <see cref="WindowModel"/>. Seeded and reproducible: a failure names its seed; set CHATMEM_SEED to replay one.
/// </summary>
[Collection(HeavyCollection.Name)]
public class WindowPropertyTests
{
    private const int SequencesPerRule = 300;
    private const int StepsPerSequence = 14;

    public static TheoryData<string, bool, bool> ServersAndRules()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var server in TestServers.Names)
        {
            foreach (var (pin, tools) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                data.Add(server, pin, tools);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ServersAndRules))]
    public async Task Stored_history_always_matches_the_model(string server, bool pinSystem, bool toolCallAware)
    {
        var replay = Environment.GetEnvironmentVariable("CHATMEM_SEED");
        var seeds = replay is null
            ? Enumerable.Range(0, SequencesPerRule).Select(i => (i * 7919) + (pinSystem ? 1 : 0) + (toolCallAware ? 2 : 0))
            : [int.Parse(replay)];

        // Sequences run four at a time; each has its own memory prefix, so they never share keys.
        await Parallel.ForEachAsync(seeds, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (seed, _) =>
            await RunSequenceAsync(server, seed, pinSystem, toolCallAware));
    }

    private static async Task RunSequenceAsync(string server, int seed, bool pinSystem, bool toolCallAware)
    {
        var random = new Random(seed);
        var maxTurns = random.Next(1, 4);
        var maxPinned = random.Next(1, 5); // small, so that sequences reach the bound
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = maxTurns;
            c.Window.PinSystemMessages = pinSystem;
            c.Window.MaxPinnedMessages = maxPinned;
            c.Window.ToolCallAware = toolCallAware;
        });
        var model = new WindowModel(maxTurns, bed.Config.Window);
        var log = new List<string>();
        for (var step = 0; step < StepsPerSequence; step++)
        {
            switch (random.Next(10))
            {
                case < 4:
                    var one = RandomMessage(random);
                    log.Add($"append {Show(one)}");
                    await bed.Memory.AppendAsync("c", one);
                    model.Append([one]);
                    break;
                case < 6:
                    var (user, assistant) = (RandomMessage(random, "user"), RandomMessage(random, "assistant"));
                    log.Add($"turn {Show(user)} {Show(assistant)}");
                    await bed.Memory.AppendTurnAsync("c", user, assistant);
                    model.Append([user, assistant]);
                    break;
                case < 9:
                    var batch = Enumerable.Range(0, random.Next(1, 6)).Select(_ => RandomMessage(random)).ToList();
                    log.Add($"many {string.Join(" ", batch.Select(Show))}");
                    await bed.Memory.AppendManyAsync("c", batch);
                    model.Append(batch);
                    break;
                default:
                    log.Add("clear");
                    await bed.Memory.ClearAsync("c");
                    model.Clear();
                    break;
            }

            var stored = await bed.Memory.GetHistoryAsync("c");
            if (!stored.SequenceEqual(model.Stored))
            {
                Assert.Fail($"seed {seed} (replay with CHATMEM_SEED={seed}), maxTurns {maxTurns}, maxPinned {maxPinned}, after:\n  {string.Join("\n  ", log)}\n" +
                    $"stored: {string.Join(" ", stored.Select(Show))}\nmodel:  {string.Join(" ", model.Stored.Select(Show))}");
            }
        }
    }

    private static ChatMemoryMessage RandomMessage(Random random, string? role = null)
    {
        role ??= random.Next(8) switch { < 3 => "user", < 6 => "assistant", 6 => "system", _ => "tool" };
        var id = random.Next(4) == 0 ? $"id{random.Next(6)}" : null;
        var text = $"t{random.Next(1000)}";
        return role switch
        {
            "assistant" when random.Next(3) == 0 => new ChatMemoryMessage(role, "")
            {
                MessageId = id,
                ToolCalls = [.. Enumerable.Range(0, random.Next(1, 3)).Select(i => new ChatMemoryToolCall($"call{i}", "f", "{}"))],
            },
            "tool" => new ChatMemoryMessage(role, text) { MessageId = id, ToolCallId = $"call{random.Next(2)}" },
            _ => new ChatMemoryMessage(role, text) { MessageId = id },
        };
    }

    private static string Show(ChatMemoryMessage m) =>
        $"{m.Role[0]}{(m.ToolCalls is null ? "" : "*")}:{m.Content}{(m.MessageId is null ? "" : "#" + m.MessageId)}";
}

using System.Globalization;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Random sequences of every public operation over a few conversations, checked step by step against an in-memory model
/// of the semantics: a list per conversation, the newest <c>MaxTurns * 2</c> kept, oldest dropped first; invalid input
/// changes nothing. A failing sequence prints its seed; set CHATMEM_MODEL_SEED to replay just that one.
/// </summary>
[Collection(HeavyCollection.Name)]
public class ModelBasedTests(ITestOutputHelper output)
{
    private const int OpsPerSequence = 20;
    private const int MaxMessageBytes = 64;
    private static readonly string[] Conversations = ["a", "b b", "c*"];
    private static readonly string[] Roles = ["user", "assistant", "system", "tool"];
    private static readonly string[] Fragments = ["", "hi", "é", "日本", "🙂", "\"q\"", "\\", "\n", " ", "{}", "x"];

    [Theory, AllServers]
    public async Task Random_sequences_match_the_model(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var replay = Environment.GetEnvironmentVariable("CHATMEM_MODEL_SEED");
        var sequences = serverName == "redis" ? 2000 : 300; // the acl server is a redis-server too: 300 is enough there
        IEnumerable<int> seeds = replay is null
            ? Enumerable.Range(0, sequences).Select(i => unchecked((i * 7919) + serverName.Length))
            : [int.Parse(replay, CultureInfo.InvariantCulture)];

        var ops = 0;
        foreach (var seed in seeds)
        {
            ops += await RunSequenceAsync(connection, seed, serverName);
        }

        output.WriteLine($"model-based ({serverName}): {seeds.Count()} sequences, {ops} operations, all matched the model");
    }

    private static async Task<int> RunSequenceAsync(IConnectionMultiplexer connection, int seed, string serverName)
    {
        var random = new Random(seed);
        var config = new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix(), MaxTurns = random.Next(1, 4), MaxMessageBytes = MaxMessageBytes };
        await using var memory = new RedisChatMemory(connection, config);
        var model = Conversations.ToDictionary(c => c, _ => new List<ChatMemoryMessage>());
        var trace = new List<string>();
        try
        {
            for (var step = 0; step < OpsPerSequence; step++)
            {
                var id = Conversations[random.Next(Conversations.Length)];
                var expected = model[id];
                switch (random.Next(10))
                {
                    case 0 or 1 or 2:
                    {
                        var (role, content) = RandomMessage(random);
                        var sync = random.Next(2) == 0;
                        trace.Add($"{(sync ? "Append" : "AppendAsync")}({id}, {role}, {content.Length} chars)");
                        if (System.Text.Encoding.UTF8.GetByteCount(content) > MaxMessageBytes)
                        {
                            var error = sync
                                ? Assert.Throws<ArgumentException>(() => memory.Append(id, role, content))
                                : await Assert.ThrowsAsync<ArgumentException>(() => memory.AppendAsync(id, role, content));
                            Assert.Equal("content", error.ParamName);
                            break;
                        }

                        if (sync)
                        {
                            memory.Append(id, role, content);
                        }
                        else
                        {
                            await memory.AppendAsync(id, role, content);
                        }

                        expected.Add(new ChatMemoryMessage(role, content));
                        if (expected.Count > config.WindowSize)
                        {
                            expected.RemoveAt(0);
                        }

                        break;
                    }

                    case 3 or 4:
                        trace.Add($"GetHistory({id})");
                        var history = random.Next(2) == 0 ? memory.GetHistory(id) : await memory.GetHistoryAsync(id);
                        Assert.Equal(expected.Select(m => (m.Role, m.Content)), history.Select(m => (m.Role, m.Content)));
                        break;
                    case 5 or 6:
                        trace.Add($"Count({id})");
                        Assert.Equal(expected.Count, random.Next(2) == 0 ? memory.Count(id) : await memory.CountAsync(id));
                        break;
                    case 7:
                        trace.Add($"Clear({id})");
                        if (random.Next(2) == 0)
                        {
                            memory.Clear(id);
                        }
                        else
                        {
                            await memory.ClearAsync(id);
                        }

                        expected.Clear();
                        break;
                    case 8:
                        trace.Add($"GetKey({id})");
                        Assert.Equal(config.KeyPrefix + ":" + id, memory.GetKey(id));
                        break;
                    default:
                        trace.Add($"AppendAsync({id}, bad role)");
                        await Assert.ThrowsAsync<ArgumentException>(() => memory.AppendAsync(id, "User", "x"));
                        break;
                }
            }

            // Finally every conversation, whatever the last step was.
            foreach (var (id, expected) in model)
            {
                Assert.Equal(expected.Select(m => (m.Role, m.Content)), (await memory.GetHistoryAsync(id)).Select(m => (m.Role, m.Content)));
            }

            foreach (var id in Conversations)
            {
                await memory.ClearAsync(id);
            }
        }
        catch (Exception ex) when (ex is not SequenceFailedException)
        {
            throw new SequenceFailedException(
                $"Model mismatch on {serverName}, seed {seed} (replay: CHATMEM_MODEL_SEED={seed} dotnet test --filter Random_sequences_match_the_model), " +
                $"MaxTurns={config.MaxTurns}, steps: {string.Join(" -> ", trace)}: {ex.Message}", ex);
        }

        return OpsPerSequence;
    }

    private static (string Role, string Content) RandomMessage(Random random)
    {
        var role = Roles[random.Next(Roles.Length)];
        var parts = random.Next(0, 12);
        var content = string.Concat(Enumerable.Range(0, parts).Select(_ => Fragments[random.Next(Fragments.Length)]));
        if (random.Next(8) == 0)
        {
            content += new string('y', MaxMessageBytes - 4 + random.Next(8)); // around the byte limit, both sides
        }

        return (role, content);
    }

    private sealed class SequenceFailedException(string message, Exception inner) : Exception(message, inner);
}

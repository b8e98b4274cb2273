// The raw-client ceilings of scripts/bench.sh: chatmem bench's load generator driving StackExchange.Redis directly
// (RawClient), printing one JSON object in chatmem bench --json's shape.
//   RawBench --redis host:port --scenario raw-append|raw-read|raw-read-decode|raw-chat [--max-turns 20] [--ttl 1800]
//            [--concurrency 64] [--conversations 1000] [--message-bytes 200] [--duration 10 | --ops N] [--warmup 1]
//            [--connections 1] [--min-threads 0] [--prefix chat] [--json]
using System.Globalization;
using System.Text.Json;
using RactoGateway.Redis;
using RactoGateway.Redis.Cli.Bench;
using StackExchange.Redis;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--json")
    {
        continue;
    }

    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 == args.Length)
    {
        Console.Error.WriteLine($"RawBench: unexpected argument '{args[i]}'");
        return 2;
    }

    options[args[i][2..]] = args[++i];
}

string Text(string name, string fallback) => options.TryGetValue(name, out var value) ? value : fallback;
double Number(string name, double fallback) => options.TryGetValue(name, out var value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

var scenario = Text("scenario", "raw-append");
string[] scenarios = ["raw-append", "raw-read", "raw-read-decode", "raw-chat"];
if (!scenarios.Contains(scenario) || !options.TryGetValue("redis", out var redis))
{
    Console.Error.WriteLine($"RawBench: --redis and --scenario ({string.Join(", ", scenarios)}) are required (was '{scenario}').");
    return 2;
}

long? ops = options.TryGetValue("ops", out var opsText) ? long.Parse(opsText, CultureInfo.InvariantCulture) : null;
var settings = new BenchSettings(
    scenario, (int)Number("concurrency", 64), (int)Number("conversations", 1000), (int)Number("message-bytes", 200), (int)Number("max-turns", 20),
    (int)Number("ttl", 1800), ops is null ? TimeSpan.FromSeconds(Number("duration", 10)) : null, ops, TimeSpan.FromSeconds(Number("warmup", 1)),
    (int)Number("connections", 1), (int)Number("min-threads", 0));
if (settings.MinThreads > 0)
{
    ThreadPool.SetMinThreads(settings.MinThreads, settings.MinThreads);
}

var config = new ChatMemoryConfig
{
    KeyPrefix = $"{Text("prefix", ChatMemoryConfig.DefaultKeyPrefix)}:bench:{Guid.NewGuid().ToString("N")[..8]}",
    MaxTurns = settings.MaxTurns,
    Ttl = TimeSpan.FromSeconds(settings.TtlSeconds),
    Connections = settings.Connections,
};
var connections = new IConnectionMultiplexer[settings.Connections];
for (var i = 0; i < connections.Length; i++)
{
    connections[i] = await ConnectionMultiplexer.ConnectAsync(redis);
}

try
{
    using var memory = new RedisChatMemory(redis, config);
    var raw = new RawClient(connections, memory, config);
    await raw.PrepareAsync();
    var ids = LoadGenerator.Ids(settings);
    var content = new string('x', settings.MessageBytes);
    Func<Random, CancellationToken, Task> operation = scenario switch
    {
        "raw-append" => (random, _) => raw.AppendAsync(ids[random.Next(ids.Length)], ChatRoles.User, content),
        "raw-read" => (random, _) => raw.ReadAsync(ids[random.Next(ids.Length)]),
        "raw-read-decode" => (random, _) => raw.ReadDecodedAsync(ids[random.Next(ids.Length)]),
        _ => async (random, _) =>
        {
            var id = ids[random.Next(ids.Length)];
            await raw.ReadDecodedAsync(id).ConfigureAwait(false);
            await raw.AppendAsync(id, ChatRoles.User, content).ConfigureAwait(false);
            await raw.AppendAsync(id, ChatRoles.Assistant, content).ConfigureAwait(false);
        },
    };
    var result = await LoadGenerator.RunAsync(memory, settings, progress: null, CancellationToken.None, operation);
    await LoadGenerator.CleanUpAsync(memory, settings, CancellationToken.None);
    Console.WriteLine(JsonSerializer.Serialize(result, BenchJsonContext.Default.BenchResult));
    return 0;
}
finally
{
    foreach (var connection in connections)
    {
        await connection.DisposeAsync();
    }
}

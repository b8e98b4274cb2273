// Usage: dotnet RactoGateway.Load.dll <connection> <prefix> <tasks> <turnsPerTask> <conversations> <maxTurns> <tag>
// Appends turns (a user message, then an assistant message) from <tasks> concurrent tasks to <conversations> shared
// conversations through one RedisChatMemory, then prints "acknowledged <n> failed <m>" and exits 0.
//    or: dotnet RactoGateway.Load.dll summarize <connection> <prefix> <conversation> <maxTurns> <perCall> <foldedCalls>
//        (see SummarizeThenHang.cs)
//    or: dotnet RactoGateway.Load.dll starve <connection> <prefix> <calls> (see StarvedPool.cs)
using System.Globalization;
using RactoGateway.Load;
using RactoGateway.Redis;

if (args is ["summarize", ..])
{
    return await SummarizeThenHang.RunAsync(args[1..]);
}

if (args is ["starve", ..])
{
    return StarvedPool.Run(args[1..]);
}

if (args.Length != 7)
{
    await Console.Error.WriteLineAsync("usage: RactoGateway.Load <connection> <prefix> <tasks> <turnsPerTask> <conversations> <maxTurns> <tag>");
    return 2;
}

var connection = args[0];
var prefix = args[1];
var tasks = int.Parse(args[2], CultureInfo.InvariantCulture);
var turnsPerTask = int.Parse(args[3], CultureInfo.InvariantCulture);
var conversations = int.Parse(args[4], CultureInfo.InvariantCulture);
var maxTurns = int.Parse(args[5], CultureInfo.InvariantCulture);
var tag = args[6];

await using var memory = new RedisChatMemory(connection, new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = maxTurns });
var acknowledged = 0;
var failed = 0;
await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
{
    for (var n = 0; n < turnsPerTask; n++)
    {
        var conversation = $"conv-{((t * turnsPerTask) + n) % conversations}";
        var turn = $"{tag}-t{t}-n{n}";
        try
        {
            await memory.AppendAsync(conversation, ChatRoles.User, "Q " + turn).ConfigureAwait(false);
            Interlocked.Increment(ref acknowledged);
            await memory.AppendAsync(conversation, ChatRoles.Assistant, "A " + turn).ConfigureAwait(false);
            Interlocked.Increment(ref acknowledged);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            Interlocked.Increment(ref failed);
        }
    }
})));

Console.WriteLine($"acknowledged {acknowledged} failed {failed}");
return 0;

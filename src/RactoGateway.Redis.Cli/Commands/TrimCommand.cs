using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem trim --max-turns N [--match] [--literal]</c>: applies a smaller window to stored conversations, keeping
/// the newest N*2 messages of each (ractogateway's rule, which is what chatmem's own appends use). The expiry is left
/// as it is. Pinned system messages and whole tool exchanges (window options of the library, which chatmem does not
/// set) are not taken into account.
/// </summary>
internal static class TrimCommand
{
    // One key, one script: the length check and the trim cannot be split by another writer.
    private const string Script = """
        local n = redis.call('LLEN', KEYS[1])
        local window = tonumber(ARGV[1])
        if n > window then
          redis.call('LTRIM', KEYS[1], -window, -1)
          return n - window
        end
        return 0
        """;

    private const int Window = 64;

    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var command = new Command("trim", "Apply a new window (--max-turns N, required) to stored conversations: keep the newest N*2 messages of each.") { match, literal };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            if (parsed.GetValue(CliOptions.MaxTurns) is null)
            {
                throw new ArgumentException("trim needs --max-turns N: the window to apply.");
            }

            var config = CliOptions.Config(parsed);
            if (config.GetValidationError() is { } error)
            {
                throw new ArgumentException(error);
            }

            var pattern = ConversationKeys.Pattern(config.KeyPrefix, parsed.GetValue(match), parsed.GetValue(literal));
            var connection = await session.ConnectAsync();
            var database = connection.GetDatabase();
            var keys = await ConversationKeys.ListAsync(connection, pattern, ct);
            var (trimmed, removed) = await StderrProgress.RunAsync("trim", keys.Count, async advance =>
            {
                long trimmed = 0, removed = 0;
                for (var first = 0; first < keys.Count; first += Window)
                {
                    ct.ThrowIfCancellationRequested();
                    var batch = keys.GetRange(first, Math.Min(Window, keys.Count - first));
                    foreach (var run in batch.Select(k => database.ScriptEvaluateAsync(Script, [k], [config.WindowSize])).ToArray())
                    {
                        var dropped = (long)await run;
                        trimmed += dropped > 0 ? 1 : 0;
                        removed += dropped;
                        advance(1);
                    }
                }

                return (trimmed, removed);
            });
            Console.WriteLine($"trimmed {trimmed} of {keys.Count} conversation(s) to {config.MaxTurns} turn(s) ({config.WindowSize} messages); {removed} message(s) removed");
            return ExitCodes.Ok;
        }));
        return command;
    }
}

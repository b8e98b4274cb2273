using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem import [--replace] &lt; file.jsonl</c>: reads what <c>export</c> writes. All or nothing for bad input: the
/// whole of stdin is read and checked first (UTF-8, line length, JSON shape, conversation ids, every message as the
/// library's append would check it), and the first bad line is reported by number with nothing written. Only then is each
/// conversation written, by one script run on its key, so each is atomic: the library's own append script
/// (<c>append.lua</c>: messages whose id is already stored are skipped, the window trims, the expiry is set), preceded by
/// a DEL of the key with <c>--replace</c>. Elements are stored byte for byte as they appear in the file. A conversation
/// with a rolling summary is restored as exported (summary, counters, pending messages), then trimmed to the window only
/// under <c>--summarize</c>; without <c>--replace</c> it must not exist yet. Each line's owner entry (owner, title, last
/// activity) is written before its messages and its recall entries (vectors) after them; <c>--no-recall</c> leaves the
/// vectors out (a server without vector sets refuses them otherwise, exit 5, nothing imported).
/// </summary>
/// <remarks>
/// Without <c>--max-turns</c> nothing is trimmed (an import restores what was exported, whatever window wrote it);
/// with it, the window applies. The expiry is <c>--ttl</c> when given, else the line's <c>ttl_ms</c>; a line without one
/// leaves an existing conversation's expiry alone (with <c>--replace</c>: no expiry). If Redis fails while writing, the
/// message says which line's conversation failed and that the ones before it are stored.
/// </remarks>
internal static class ImportCommand
{
    public static Command Create()
    {
        var replace = new Option<bool>("--replace")
        {
            Description = "Replace each conversation that exists, with its owner and recall vectors (default: append to it; messages whose id is " +
                "already stored are skipped, and a conversation of another owner is refused).",
        };
        var noRecall = new Option<bool>("--no-recall")
        {
            Description = "Leave the recall entries (indexed messages with their vectors) out: for a server without vector sets, which refuses them otherwise (exit 5).",
        };
        var maxLineBytes = new Option<int>("--max-line-bytes")
        {
            Description = $"The longest line accepted, in bytes (default {ChatMemoryAdmin.DefaultMaxLineBytes}, 64 MiB).",
            DefaultValueFactory = _ => ChatMemoryAdmin.DefaultMaxLineBytes,
            CustomParser = r => int.TryParse(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 2 and <= 1024 * 1024 * 1024
                ? n : Error(r, "--max-line-bytes must be a whole number between 2 and 1073741824"),
        };
        var command = new Command(
            "import",
            "Read JSON Lines from stdin (as export writes them) and store each conversation atomically. All or nothing for bad " +
            "input: the whole input is checked before anything is written, and a bad line (invalid UTF-8, too long, not JSON, " +
            "a bad id, role, field or size) is named on stderr with exit 2 and nothing imported. Holds the input in memory. " +
            "Restores what export writes: messages, expiry, owner with title and last activity, and recall vectors (unless --no-recall); " +
            "lines of older exports, without owner and recall, leave those of a conversation as they are.")
        { replace, noRecall, maxLineBytes };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var admin = await session.AdminAsync(CliOptions.Config(parsed, defaultMaxTurns: int.MaxValue / 2));
            using var stdin = Console.OpenStandardInput();
            var result = await StderrProgress.RunAsync("import", progress =>
                admin.ImportAsync(stdin, parsed.GetValue(replace), parsed.GetValue(maxLineBytes), !parsed.GetValue(noRecall), progress, ct));
            await Console.Error.WriteLineAsync($"chatmem: imported {result.Conversations} conversation(s), {result.MessagesStored} message(s) stored, " +
                $"{result.Owned} owner entr{(result.Owned == 1 ? "y" : "ies")}, {result.RecallEntries} recall entr{(result.RecallEntries == 1 ? "y" : "ies")}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static int Error(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return 0;
    }
}

using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem export [--match &lt;glob&gt;] [--literal] &gt; file.jsonl</c>: one JSON line per conversation,
/// <c>{"conversation":"c1","ttl_ms":12345|null,"messages":[...],"owner":"u"|null,"title":"...","last_activity_ms":N,"recall":[...]}</c>,
/// each message the stored element exactly as it is, with the owner index entry and the recall vectors
/// (<see cref="ChatMemoryAdmin.ExportAsync"/>). Corrupt elements are skipped and counted on stderr.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var command = new Command("export", "Write conversations as JSON Lines on stdout, losslessly: the messages (window, rolling summary, pending), the expiry, " +
            "the owner with title and last activity (chatmem owner), and what recall indexed, each message with its vector. import reads them back. " +
            "Not carried: the summarizers' short leases, and owner entries of conversations that no longer have messages.") { match, literal };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var admin = await session.AdminAsync(CliOptions.Config(parsed));
            using var stdout = Console.OpenStandardOutput();
            var result = await StderrProgress.RunAsync("export", progress =>
                admin.ExportAsync(stdout, parsed.GetValue(match), parsed.GetValue(literal), progress, ct));
            await Console.Error.WriteLineAsync($"chatmem: exported {result.Conversations} conversation(s), {result.Messages} message(s), " +
                $"{result.Owned} with an owner, {result.RecallEntries} recall entr{(result.RecallEntries == 1 ? "y" : "ies")}" +
                (result.CorruptSkipped > 0 ? $"; skipped {result.CorruptSkipped} corrupt element(s)" : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }
}

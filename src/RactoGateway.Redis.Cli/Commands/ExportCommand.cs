using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem export [--match &lt;glob&gt;] [--literal] &gt; file.jsonl</c>: one JSON line per conversation,
/// <c>{"conversation":"c1","ttl_ms":12345|null,"messages":[...]}</c>, each message the stored element exactly as it is
/// (<see cref="ChatMemoryAdmin.ExportAsync"/>). Corrupt elements are skipped and counted on stderr.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var command = new Command("export", "Write conversations as JSON Lines on stdout, losslessly (import reads them back).") { match, literal };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var admin = await session.AdminAsync(CliOptions.Config(parsed));
            using var stdout = Console.OpenStandardOutput();
            var result = await StderrProgress.RunAsync("export", progress =>
                admin.ExportAsync(stdout, parsed.GetValue(match), parsed.GetValue(literal), progress, ct));
            await Console.Error.WriteLineAsync($"chatmem: exported {result.Conversations} conversation(s), {result.Messages} message(s)" +
                (result.CorruptSkipped > 0 ? $"; skipped {result.CorruptSkipped} corrupt element(s)" : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }
}

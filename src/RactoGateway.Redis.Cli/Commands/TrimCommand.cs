using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem trim --max-turns N [--pin-system] [--tool-aware] [--match] [--literal]</c>: applies a window to stored
/// conversations by the same script and rules every append uses (give the service's window options). Expiries are left
/// as they are.
/// </summary>
internal static class TrimCommand
{
    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var command = new Command("trim", "Apply a window (--max-turns N, required; with the service's --pin-system/--tool-aware) to stored conversations.") { match, literal };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            if (parsed.GetValue(CliOptions.MaxTurns) is null)
            {
                throw new ArgumentException("trim needs --max-turns N: the window to apply.");
            }

            var admin = await session.AdminAsync(CliOptions.Config(parsed));
            var config = admin.Config;
            var result = await StderrProgress.RunAsync("trim", progress =>
                admin.TrimAsync(parsed.GetValue(match), parsed.GetValue(literal), progress, ct));
            Console.WriteLine($"trimmed {result.Trimmed} of {result.Conversations} conversation(s) to {config.MaxTurns} turn(s) ({config.WindowSize} messages, {config.Window}); {result.MessagesRemoved} message(s) removed");
            return ExitCodes.Ok;
        }));
        return command;
    }
}

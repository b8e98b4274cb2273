using System.CommandLine;
using System.Text;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem list [--match &lt;glob&gt;] [--literal]</c>: conversation ids, one per line, in SCAN order.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var command = new Command("list", "Print the conversation ids, one per line (SCAN in batches, across every master of a cluster; unsorted).") { match, literal };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var admin = await session.AdminAsync(CliOptions.Config(parsed));
            await using var stdout = StdoutWriter();
            await foreach (var id in admin.ListConversationsAsync(parsed.GetValue(match), parsed.GetValue(literal), ct))
            {
                await stdout.WriteAsync(id + "\n");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>UTF-8 (no BOM) with "\n" line ends, whatever the console's settings: stdout here is data.</summary>
    public static StreamWriter StdoutWriter() => new(Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024);
}

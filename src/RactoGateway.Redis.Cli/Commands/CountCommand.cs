using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem count &lt;conversation&gt;</c>: the number of stored messages.</summary>
internal static class CountCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var command = new Command("count", "Print how many messages are stored.") { conversation };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var memory = session.Open(CliOptions.Config(parsed));
            Console.WriteLine(await memory.CountAsync(parsed.GetValue(conversation)!, ct));
            return ExitCodes.Ok;
        }));
        return command;
    }
}

using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem clear &lt;conversation&gt;</c>: delete a conversation (nothing happens when it does not exist).</summary>
internal static class ClearCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var command = new Command("clear", "Delete a conversation.") { conversation };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var memory = await session.OpenAsync(CliOptions.Config(parsed));
            await memory.ClearAsync(parsed.GetValue(conversation)!, ct);
            return ExitCodes.Ok;
        }));
        return command;
    }
}

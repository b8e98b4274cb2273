using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem append &lt;conversation&gt; &lt;role&gt; &lt;content&gt;</c></summary>
internal static class AppendCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var role = new Argument<string>("role") { Description = "user, assistant, system or tool." };
        var content = new Argument<string>("content") { Description = "The message text." };
        var command = new Command("append", "Append a message (the window trims the oldest).") { conversation, role, content };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var memory = session.Open(CliOptions.Config(parsed));
            var id = parsed.GetValue(conversation)!;
            await memory.AppendAsync(id, parsed.GetValue(role)!, parsed.GetValue(content)!, ct);
            Console.WriteLine($"{id}: {await memory.CountAsync(id, ct)} message(s) stored");
            return ExitCodes.Ok;
        }));
        return command;
    }
}

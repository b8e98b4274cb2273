using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem clear &lt;conversation&gt;</c>: delete a conversation and say what was deleted on stdout
/// ("cleared c1 (12 messages)"). One that does not exist is not an error: a note on stderr, exit 0.</summary>
internal static class ClearCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var command = new Command("clear", "Delete a conversation; prints what was deleted.") { conversation };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var config = CliOptions.Config(parsed);
            var memory = session.Open(config);
            var id = parsed.GetValue(conversation)!;
            // Counted just before the delete: a message appended in between is deleted but not counted.
            var stored = await memory.CountAsync(id, ct);
            await memory.ClearAsync(id, ct);
            if (stored == 0)
            {
                await Console.Error.WriteLineAsync($"chatmem: no conversation '{id}' under prefix '{config.KeyPrefix}'; nothing to clear");
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cleared {id} ({stored} message{(stored == 1 ? "" : "s")})"));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}

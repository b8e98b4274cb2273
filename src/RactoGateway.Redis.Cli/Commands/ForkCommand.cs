using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem fork &lt;source&gt; &lt;target&gt; --keep N</c>: copy the first N messages of a conversation, as <c>show</c>
/// lists them, with its pinned run and summary state, into a new conversation (<see cref="IChatMemoryBranches.ForkAsync"/>).
/// A target that exists is refused (exit 2, nothing written), unless it already holds exactly this copy (a retry).
/// </summary>
internal static class ForkCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "The conversation copied." };
        var target = new Argument<string>("target") { Description = "The new conversation; must not exist." };
        var keep = TruncateCommand.KeepOption("The messages to copy, counted as show lists them (pinned system messages and the summary included).");
        var command = new Command("fork", "Copy the first --keep N messages of a conversation (with its pinned messages and summary) into a new one; " +
            "a target that exists is refused (exit 2, nothing written).")
        {
            source, target, keep,
        };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var memory = session.Open(CliOptions.Config(parsed));
            var (from, to, count) = (parsed.GetValue(source)!, parsed.GetValue(target)!, parsed.GetValue(keep));
            var stored = await TruncateCommand.WithKeep(async () =>
            {
                try
                {
                    return await memory.ForkAsync(from, to, count, ct);
                }
                catch (ArgumentException ex) when (ex.ParamName is "sourceId" or "targetId")
                {
                    var message = ex.Message;
                    var suffix = $" (Parameter '{ex.ParamName}')";
                    var name = ex.ParamName == "sourceId" ? "<source>" : "<target>";
                    throw new ArgumentException($"{name}: {(message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message)}", ex);
                }
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forked {from} into {to}: first {count} message{(count == 1 ? "" : "s")} ({stored} element{(stored == 1 ? "" : "s")} stored)"));
            return ExitCodes.Ok;
        }));
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem truncate &lt;conversation&gt; --keep N</c>: keep the first N messages of a conversation, as <c>show</c> lists
/// them (pinned system messages and the summary included), and drop the rest (<see cref="IChatMemoryBranches.TruncateAsync"/>):
/// edit and regenerate. Refused (exit 2, nothing written) past the messages listed, or into a rolling summary.
/// </summary>
internal static class TruncateCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var keep = KeepOption("The messages to keep, counted as show lists them (pinned system messages and the summary included); 0 drops everything of a conversation without a summary.");
        var command = new Command("truncate", "Keep the first --keep N messages of a conversation and drop the rest (edit and regenerate); " +
            "never cuts into a rolling summary (refused, exit 2, nothing written).")
        {
            conversation, keep,
        };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var memory = session.Open(CliOptions.Config(parsed));
            var id = parsed.GetValue(conversation)!;
            var count = parsed.GetValue(keep);
            var removed = await WithKeep(() => memory.TruncateAsync(id, count, ct));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"truncated {id} to {count} message{(count == 1 ? "" : "s")} ({removed} removed)"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The required <c>--keep N</c> of truncate and fork (a whole number from 0).</summary>
    internal static Option<int> KeepOption(string description) => new("--keep")
    {
        Description = description,
        Required = true,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            r.AddError($"--keep must be a whole number from 0 (was '{text}')");
            return 0;
        },
    };

    /// <summary>Runs a branch call, naming --keep (not the C# parameter) when the library refuses the count.</summary>
    internal static async Task<long> WithKeep(Func<Task<long>> call)
    {
        try
        {
            return await call();
        }
        catch (ArgumentOutOfRangeException ex) when (ex.ParamName == "keep")
        {
            var message = ex.Message;
            var suffix = " (Parameter 'keep')";
            throw new ArgumentException("--keep: " + (message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message), ex);
        }
    }
}

using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem owner &lt;conversation&gt; &lt;owner&gt;</c> (<see cref="ChatMemoryOwners.SetOwnerAsync"/>) and
/// <c>chatmem erase-owner &lt;owner&gt;</c> (<see cref="ChatMemoryOwners.DeleteOwnerAsync"/>); the owner's list is
/// <c>chatmem list --owner</c>. Neither needs vector sets nor loads an embedder.</summary>
internal static class OwnerCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var owner = new Argument<string>("owner") { Description = "A user or tenant id." };
        var command = new Command("owner", "Record the owner of a conversation and mark it active now (its title: the first stored user message); " +
            "a conversation of another owner is refused (exit 2).") { conversation, owner };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var owners = RecallCommand.OpenOwners(session, parsed);
            var id = parsed.GetValue(conversation)!;
            var who = parsed.GetValue(owner)!;
            try
            {
                await owners.SetOwnerAsync(id, who, ct);
            }
            catch (InvalidOperationException ex)
            {
                throw new ArgumentException(ex.Message, ex);
            }

            Console.WriteLine($"{id}: owner {who}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateErase()
    {
        var owner = new Argument<string>("owner") { Description = "A user or tenant id." };
        var command = new Command("erase-owner", "Delete every conversation of an owner (window, summary, pending, recall vectors) and the owner's list; " +
            "prints how many. Idempotent: run it again after an interruption.") { owner };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var who = parsed.GetValue(owner)!;
            var erased = await RecallCommand.OpenOwners(session, parsed).DeleteOwnerAsync(who, ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"erased {erased} conversation{(erased == 1 ? "" : "s")} of {who}"));
            return ExitCodes.Ok;
        }));
        return command;
    }
}

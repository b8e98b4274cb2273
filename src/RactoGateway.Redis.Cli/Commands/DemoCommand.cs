using System.CommandLine;
using RactoGateway.Redis.Cli.Hosting;
using Spectre.Console;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem demo</c>: a scripted conversation longer than the window, played through two memory objects on separate
/// connections (two replicas of a chat service), printing what is stored after each turn.
/// </summary>
internal static class DemoCommand
{
    private static readonly (string User, string Assistant)[] Script =
    [
        ("Hi! I'm planning a trip to Paris.", "Lovely! When are you going?"),
        ("In May, for four days.", "May is a great time: mild weather, long evenings."),
        ("What should I see first?", "Start with the Louvre early in the morning, before the queues."),
        ("And in the evening?", "A walk along the Seine to the Eiffel Tower at dusk."),
        ("Any food tips?", "Try a bistro in the Marais, and croissants from any corner bakery."),
    ];

    public static Command Create()
    {
        var command = new Command("demo", "Play a conversation through two replicas and watch the window slide.");
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var config = CliOptions.Config(parsed, defaultMaxTurns: 3);
            var replicas = new[] { session.Open(config), session.Open(config) };
            var conversation = $"demo-{Guid.NewGuid():N}"[..13];
            AnsiConsole.MarkupLine($"Two memory objects on separate connections stand for two replicas of a chat service, sharing " +
                $"conversation [bold]{conversation}[/] on {(session.IsEmbedded ? "the embedded Garnet server" : "Redis")} at {session.Endpoint}.");
            AnsiConsole.MarkupLine($"The window keeps {config.MaxTurns} turns = {config.WindowSize} messages; the script has {Script.Length} turns.");
            AnsiConsole.WriteLine();

            for (var turn = 0; turn < Script.Length; turn++)
            {
                var (writer, reader) = (turn % 2, (turn + 1) % 2);
                await replicas[writer].AppendTurnAsync(conversation, Script[turn].User, Script[turn].Assistant, ct);
                var stored = await replicas[reader].GetHistoryAsync(conversation, ct);
                var slid = turn >= config.MaxTurns ? $"; turn {turn + 1 - config.MaxTurns} slid out" : "";
                AnsiConsole.Write(ShowCommand.Table(stored, $"turn {turn + 1}: written by replica {"AB"[writer]}, read back by replica {"AB"[reader]}{slid}"));
            }

            AnsiConsole.WriteLine();
            AnsiConsole.MarkupLine("The oldest turns slid out of the window, and each replica read what the other wrote.");
            await replicas[0].ClearAsync(conversation, ct);
            return ExitCodes.Ok;
        }));
        return command;
    }
}

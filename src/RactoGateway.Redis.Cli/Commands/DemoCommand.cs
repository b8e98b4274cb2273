using System.CommandLine;
using RactoGateway.Redis.Offline;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Embeddings;
using Spectre.Console;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem demo</c>: a scripted conversation longer than the window, played through two memory objects on separate
/// connections (two replicas of a chat service), printing what is stored after each turn; then what slid out, folded
/// into a rolling summary (the offline summarizer) and recalled by meaning (the offline MiniLM), with no network and no key.
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
            config.Summarize = true; // the demo's own conversation: both replicas keep what slides out
            using var embeddings = ServedEmbeddings.For(session);
            using var offlineSummarizer = new ConcatenatingSummarizer();
            var replicas = new[] { session.Open(config, new ChatMemoryFeatures().AddSummarizer(offlineSummarizer).AddRecall(embeddings)), session.Open(config) };
            var recall = replicas[0].GetRequiredService<ChatMemoryRecall>();
            var summarizer = replicas[0].GetRequiredService<ChatMemorySummarizer>();
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

            // Beyond the window: what slid out was kept as pending; fold it into the summary (and index it for recall).
            await summarizer.SummarizePendingAsync(conversation, ct);
            AnsiConsole.WriteLine();
            AnsiConsole.Write(ShowCommand.Table(await replicas[1].GetHistoryAsync(conversation, ct), "beyond the window: the rolling summary of what slid out, then the window"));
            // The user's own answer is what a model needs to answer this later (the assistant only asked "When are you
            // going?"): recall searches the user's messages among those that slid out.
            const string Question = "Which month am I travelling?";
            try
            {
                AnsiConsole.WriteLine();
                foreach (var hit in await recall.RecallAsync(conversation, Question, top: 1, filter: ".role == \"user\"", cancellationToken: ct))
                {
                    AnsiConsole.MarkupLine($"recalled for \"{Question}\": [bold]{Markup.Escape(hit.Message.Content)}[/]");
                    AnsiConsole.MarkupLine($"(the user's own words in turn {(hit.Position / 2) + 1}, which slid out of the window; score {hit.Score:0.00})");
                }
            }
            catch (NotSupportedException ex)
            {
                AnsiConsole.MarkupLine($"no recall on this server: {Markup.Escape(ex.Message)}");
            }

            await replicas[0].ClearAsync(conversation, ct);
            return ExitCodes.Ok;
        }));
        return command;
    }
}

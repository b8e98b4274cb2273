using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using Spectre.Console;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem show &lt;conversation&gt; [--json]</c>: the stored messages, oldest first. A conversation that does not
/// exist prints an empty result and says so on stderr (exit 0: an empty conversation is not an error). The rolling
/// summary (<see cref="ChatMemoryMessage.IsSummary"/>) is marked: role <c>system (summary)</c> in the table,
/// <c>"summary": true</c> in JSON.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var json = new Option<bool>("--json")
        {
            Description = "Print exactly a JSON array of {\"role\",\"content\"} objects and nothing else; the rolling summary's object " +
                "also has \"summary\": true (no other object has that key).",
        };
        var command = new Command("show", "Show the stored messages, oldest first: what a read returns (pinned system messages, the rolling " +
            "summary, the window; messages still waiting to be summarized are not shown). The rolling summary (see --summarize) is the row " +
            "whose role is \"system (summary)\".") { conversation, json };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var config = CliOptions.Config(parsed);
            var memory = session.Open(config);
            var id = parsed.GetValue(conversation)!;
            var history = await memory.GetHistoryAsync(id, ct);
            if (history.Count == 0)
            {
                await Console.Error.WriteLineAsync($"chatmem: no conversation '{id}' under prefix '{config.KeyPrefix}'");
            }

            if (parsed.GetValue(json))
            {
                WriteJson(history);
            }
            else
            {
                AnsiConsole.Write(Table(history));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The role column of a message: the rolling summary's reads <c>system (summary)</c>.</summary>
    public const string SummaryRole = "system (summary)";

    /// <summary>A table of index, role and content (the summary's role is <see cref="SummaryRole"/>); shared with <c>demo</c> and <c>chat</c>.</summary>
    public static Table Table(IReadOnlyList<ChatMemoryMessage> history, string? title = null)
    {
        var table = new Table().AddColumn("#").AddColumn(new TableColumn("role").NoWrap()).AddColumn("content");
        if (title is not null)
        {
            table.Title(title);
        }

        for (var i = 0; i < history.Count; i++)
        {
            table.AddRow((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(history[i].IsSummary ? SummaryRole : history[i].Role), Markup.Escape(history[i].Content));
        }

        return table;
    }

    private static void WriteJson(IReadOnlyList<ChatMemoryMessage> history)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var message in history)
            {
                writer.WriteStartObject();
                writer.WriteString("role", message.Role);
                writer.WriteString("content", message.Content);
                if (message.IsSummary)
                {
                    writer.WriteBoolean("summary", true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        stdout.Write("\n"u8);
    }
}

using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using Spectre.Console;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem show &lt;conversation&gt; [--json]</c>: the stored messages, oldest first. A conversation that does not
/// exist prints an empty result and says so on stderr (exit 0: an empty conversation is not an error).</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id." };
        var json = new Option<bool>("--json") { Description = "Print exactly a JSON array of {\"role\",\"content\"} objects and nothing else." };
        var command = new Command("show", "Show the stored messages, oldest first.") { conversation, json };
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

    /// <summary>A table of index, role and content; shared with <c>demo</c>.</summary>
    public static Table Table(IReadOnlyList<ChatMemoryMessage> history, string? title = null)
    {
        var table = new Table().AddColumn("#").AddColumn("role").AddColumn("content");
        if (title is not null)
        {
            table.Title(title);
        }

        for (var i = 0; i < history.Count; i++)
        {
            table.AddRow((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(history[i].Role), Markup.Escape(history[i].Content));
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
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        stdout.Write("\n"u8);
    }
}

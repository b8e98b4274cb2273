using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem list [--match &lt;glob&gt;] [--literal]</c>: conversation ids, one per line, in SCAN order; or
/// <c>chatmem list --owner &lt;owner&gt; [--json]</c>: the owner's conversations (<see cref="ChatMemoryOwners.ListConversationsAsync"/>),
/// newest activity first, as id, title and last activity (ISO 8601 UTC), tab-separated.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var owner = new Option<string?>("--owner") { Description = "List this owner's conversations instead (set with chatmem owner), newest activity first: id, title, last activity, tab-separated." };
        var json = new Option<bool>("--json") { Description = "With --owner: a JSON array of {\"conversation\",\"title\",\"last_activity\"}." };
        var command = new Command("list", "Print the conversation ids, one per line (SCAN in batches, across every master of a cluster; unsorted); " +
            "with --owner, that owner's conversations, newest activity first.") { match, literal, owner, json };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            if (parsed.GetValue(owner) is { } who)
            {
                if (parsed.GetValue(match) is not null || parsed.GetValue(literal))
                {
                    throw new ArgumentException("--match and --literal do not apply with --owner.");
                }

                return await ListOwnerAsync(session, parsed, who, parsed.GetValue(json), ct);
            }

            if (parsed.GetValue(json))
            {
                throw new ArgumentException("--json applies with --owner.");
            }

            var admin = await session.AdminAsync(CliOptions.Config(parsed));
            await using var stdout = StdoutWriter();
            await foreach (var id in admin.ListConversationsAsync(parsed.GetValue(match), parsed.GetValue(literal), ct))
            {
                await stdout.WriteAsync(id + "\n");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>UTF-8 (no BOM) with "\n" line ends, whatever the console's settings: stdout here is data.</summary>
    public static StreamWriter StdoutWriter() => new(Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024);

    private static async Task<int> ListOwnerAsync(MemorySession session, ParseResult parsed, string owner, bool json, CancellationToken ct)
    {
        // The owner index needs no vector sets and no embedding: the model is never loaded here.
        var conversations = await RecallCommand.OpenOwners(session, parsed).ListConversationsAsync(owner, ct);
        await using var stdout = StdoutWriter();
        if (!json)
        {
            foreach (var c in conversations)
            {
                await stdout.WriteAsync($"{RecallCommand.Plain(c.ConversationId)}\t{RecallCommand.Plain(c.Title)}\t{Iso(c.LastActivity)}\n");
            }

            return ExitCodes.Ok;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var c in conversations)
            {
                writer.WriteStartObject();
                writer.WriteString("conversation", c.ConversationId);
                writer.WriteString("title", c.Title);
                writer.WriteString("last_activity", Iso(c.LastActivity));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        await stdout.WriteAsync(Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
        return ExitCodes.Ok;
    }

    private static string Iso(DateTimeOffset when) => when.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

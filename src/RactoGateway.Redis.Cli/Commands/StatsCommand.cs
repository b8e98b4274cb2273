using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using Spectre.Console;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem stats [--match] [--literal] [--sample N] [--json]</c>: conversations, messages, an estimate of memory
/// (MEMORY USAGE on a sample of keys, extrapolated) and the spread of remaining expiries.
/// </summary>
internal static class StatsCommand
{
    public static Command Create()
    {
        var (match, literal) = ConversationKeys.Options();
        var sample = new Option<int>("--sample") { Description = "Keys whose MEMORY USAGE is measured; the total is extrapolated from them.", DefaultValueFactory = _ => 200 };
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON object on stdout." };
        var command = new Command("stats", "Count conversations and messages, estimate memory, and show the TTL spread.") { match, literal, sample, json };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var sampleSize = parsed.GetValue(sample);
            if (sampleSize < 0)
            {
                throw new ArgumentException($"--sample must be 0 or more (was {sampleSize}).");
            }

            var admin = await session.AdminAsync(CliOptions.Config(parsed));
            var stats = await admin.GetStatsAsync(parsed.GetValue(match), parsed.GetValue(literal), sampleSize, ct);
            if (parsed.GetValue(json))
            {
                WriteJson(stats);
            }
            else
            {
                AnsiConsole.Write(Table(stats));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Table Table(ChatMemoryStats s)
    {
        var table = new Table().AddColumn("statistic").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("conversations", F(s.Conversations));
        table.AddRow("messages", F(s.Messages));
        table.AddRow(Markup.Escape($"memory, estimate (MEMORY USAGE of {s.SampledConversations} key(s), extrapolated)"),
            s.EstimatedBytes is { } bytes ? $"{F(bytes)} B" : Markup.Escape(s.MemoryUsageError is null ? "-" : $"unavailable: {s.MemoryUsageError}"));
        table.AddRow("no TTL", F(s.WithoutExpiry));
        table.AddRow("TTL min", Duration(s.MinTimeToLive));
        table.AddRow("TTL median", Duration(s.MedianTimeToLive));
        table.AddRow("TTL max", Duration(s.MaxTimeToLive));
        return table;
    }

    private static string F(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan? ttl) => ttl is { } v ? v.ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture) : "-";

    private static long? Ms(TimeSpan? ttl) => ttl is { } v ? (long)v.TotalMilliseconds : null;

    private static void WriteJson(ChatMemoryStats s)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout))
        {
            writer.WriteStartObject();
            writer.WriteNumber("conversations", s.Conversations);
            writer.WriteNumber("messages", s.Messages);
            writer.WriteStartObject("memory");
            if (s.EstimatedBytes is { } bytes)
            {
                writer.WriteNumber("estimated_bytes", bytes);
            }
            else
            {
                writer.WriteNull("estimated_bytes");
            }

            writer.WriteNumber("sampled_keys", s.SampledConversations);
            writer.WriteString("method", "MEMORY USAGE of the sampled keys, average times the number of conversations");
            if (s.MemoryUsageError is not null)
            {
                writer.WriteString("error", s.MemoryUsageError);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("ttl");
            writer.WriteNumber("none", s.WithoutExpiry);
            Nullable(writer, "min_ms", Ms(s.MinTimeToLive));
            Nullable(writer, "median_ms", Ms(s.MedianTimeToLive));
            Nullable(writer, "max_ms", Ms(s.MaxTimeToLive));
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        stdout.Write("\n"u8);
    }

    private static void Nullable(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using Spectre.Console;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem stats [--match] [--literal] [--sample N] [--json]</c>: conversations, messages, an estimate of memory
/// (MEMORY USAGE on a sample of keys, extrapolated) and the spread of remaining expiries.
/// </summary>
internal static class StatsCommand
{
    private const int Window = 256;

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

            var prefix = CliOptions.Config(parsed).KeyPrefix;
            var pattern = ConversationKeys.Pattern(prefix, parsed.GetValue(match), parsed.GetValue(literal));
            var connection = await session.ConnectAsync();
            var database = connection.GetDatabase();
            var keys = await ConversationKeys.ListAsync(connection, pattern, ct);

            long messages = 0;
            var ttls = new List<long>();
            long sampledBytes = 0, sampled = 0;
            var memoryError = (string?)null;
            for (var first = 0; first < keys.Count; first += Window)
            {
                ct.ThrowIfCancellationRequested();
                var batch = keys.GetRange(first, Math.Min(Window, keys.Count - first));
                var lengths = batch.Select(k => database.ListLengthAsync(k)).ToArray();
                var expiries = batch.Select(k => database.KeyTimeToLiveAsync(k)).ToArray();
                var usages = batch.Take((int)Math.Max(0, Math.Min(batch.Count, sampleSize - first)))
                    .Select(k => memoryError is null ? database.ExecuteAsync("MEMORY", "USAGE", k) : null).ToArray();
                for (var i = 0; i < batch.Count; i++)
                {
                    messages += await lengths[i];
                    if (await expiries[i] is { } ttl)
                    {
                        ttls.Add((long)ttl.TotalMilliseconds);
                    }
                }

                foreach (var usage in usages)
                {
                    try
                    {
                        if (usage is not null && await usage is { IsNull: false } bytes)
                        {
                            sampledBytes += (long)bytes;
                            sampled++;
                        }
                    }
                    catch (RedisServerException ex)
                    {
                        // A server without MEMORY USAGE (or with it disabled): report that rather than fail.
                        memoryError ??= ex.Message;
                    }
                }
            }

            ttls.Sort();
            var stats = new Stats(keys.Count, messages, sampled, sampled > 0 ? sampledBytes * keys.Count / sampled : null, memoryError,
                keys.Count - ttls.Count, ttls.Count > 0 ? ttls[0] : null, ttls.Count > 0 ? Median(ttls) : null, ttls.Count > 0 ? ttls[^1] : null);
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

    private sealed record Stats(long Conversations, long Messages, long Sampled, long? MemoryEstimate, string? MemoryError, long NoTtl, long? MinTtlMs, long? MedianTtlMs, long? MaxTtlMs);

    private static long Median(List<long> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static Table Table(Stats s)
    {
        var table = new Table().AddColumn("statistic").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("conversations", F(s.Conversations));
        table.AddRow("messages", F(s.Messages));
        table.AddRow(Markup.Escape($"memory, estimate (MEMORY USAGE of {s.Sampled} key(s), extrapolated)"),
            s.MemoryEstimate is { } bytes ? $"{F(bytes)} B" : Markup.Escape(s.MemoryError is null ? "-" : $"unavailable: {s.MemoryError}"));
        table.AddRow("no TTL", F(s.NoTtl));
        table.AddRow("TTL min", Duration(s.MinTtlMs));
        table.AddRow("TTL median", Duration(s.MedianTtlMs));
        table.AddRow("TTL max", Duration(s.MaxTtlMs));
        return table;
    }

    private static string F(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Duration(long? ms) => ms is { } v ? TimeSpan.FromMilliseconds(v).ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture) : "-";

    private static void WriteJson(Stats s)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout))
        {
            writer.WriteStartObject();
            writer.WriteNumber("conversations", s.Conversations);
            writer.WriteNumber("messages", s.Messages);
            writer.WriteStartObject("memory");
            if (s.MemoryEstimate is { } bytes)
            {
                writer.WriteNumber("estimated_bytes", bytes);
            }
            else
            {
                writer.WriteNull("estimated_bytes");
            }

            writer.WriteNumber("sampled_keys", s.Sampled);
            writer.WriteString("method", "MEMORY USAGE of the sampled keys, average times the number of conversations");
            if (s.MemoryError is not null)
            {
                writer.WriteString("error", s.MemoryError);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("ttl");
            writer.WriteNumber("none", s.NoTtl);
            Nullable(writer, "min_ms", s.MinTtlMs);
            Nullable(writer, "median_ms", s.MedianTtlMs);
            Nullable(writer, "max_ms", s.MaxTtlMs);
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

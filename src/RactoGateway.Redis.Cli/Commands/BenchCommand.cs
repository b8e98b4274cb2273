using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RactoGateway.Redis.Cli.Bench;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Embeddings;
using Spectre.Console;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary><c>chatmem bench</c>: a load generator (see <see cref="LoadGenerator"/>); a table, or one JSON object with --json.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var scenario = new Option<string>("--scenario") { Description = "append, read (a full window), chat (one read and two appends per turn), recall (RecallAsync, top 5, " +
            "over --recall-messages indexed messages; hashing embedder) or recall-search (the same with every query embedded beforehand).", DefaultValueFactory = _ => "append" };
        scenario.AcceptOnlyFromAmong("append", "read", "chat", RecallScenario.Recall, RecallScenario.Search);
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent async callers.", DefaultValueFactory = _ => 64 };
        var conversations = new Option<int>("--conversations") { Description = "Conversations the callers pick from at random.", DefaultValueFactory = _ => 1000 };
        var messageBytes = new Option<int>("--message-bytes") { Description = "Content size of each message.", DefaultValueFactory = _ => 200 };
        var duration = new Option<double?>("--duration") { Description = "Seconds to run (default 10, unless --ops is given)." };
        var ops = new Option<long?>("--ops") { Description = "Operations to run, instead of a duration." };
        var warmup = new Option<double>("--warmup") { Description = "Seconds of warm-up before measuring.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON object on stdout." };
        var connections = new Option<int>("--connections")
        {
            Description = $"Multiplexers the memory opens and uses in turn (ChatMemoryConfig.Connections, 1 to {ChatMemoryConfig.MaxConnections}).",
            DefaultValueFactory = _ => 1,
        };
        var minThreads = new Option<int>("--min-threads")
        {
            Description = "ThreadPool.SetMinThreads for workers and I/O before running (0 leaves the runtime's default). See docs/throughput.md, \"Thread pool minimum\".",
            DefaultValueFactory = _ => 0,
        };
        var pinSystem = new Option<bool>("--pin-system")
        {
            Description = "Pin system messages (ChatMemoryWindow.PinSystemMessages); each conversation starts with a full window behind a system message.",
        };
        var summarizer = new Option<string?>("--summarizer")
        {
            Description = "With --summarize: instant (default) runs a ChatMemorySummarizer in the background (RunAsync, default options) whose " +
                "model answers a constant short text at once, so the run measures what summarizing costs the memory and Redis; none runs " +
                "no summarizer (a summarizer that is down): each conversation starts with its pending part at the cap (--max-pending, " +
                "mind the size: conversations x (window + cap) messages), so every append also drops one. Each conversation starts with a " +
                "full window either way. The result counts the messages summarized, the summarizations (model calls) and the messages dropped.",
        };
        summarizer.AcceptOnlyFromAmong("instant", "none");
        var withRecall = new Option<bool>("--recall")
        {
            Description = "With --summarize --summarizer instant: long-term recall on as well, so the background summarizer embeds " +
                "(offline MiniLM) and indexes every batch before folding it (needs vector sets); measures what that costs appends.",
        };
        var fill = new Option<bool>("--fill")
        {
            Description = "Start each conversation with a full window, so that every measured append trims (always so for read, chat, " +
                "--pin-system and --summarize): compare plain appends with --summarize ones on the same footing.",
        };
        var command = new Command("bench", "Measure throughput and latency (embedded Garnet unless --redis) on conversations under a prefix of its own, " +
            "{prefix}:bench:{random}, deleted afterwards. --max-turns defaults to 20 and --ttl to 1800 here. Ctrl-C prints the partial result. " +
            "With --summarize, appends keep what leaves the window for a rolling summary (see --summarizer).")
        {
            scenario, concurrency, conversations, messageBytes, duration, ops, warmup, json, connections, minThreads, pinSystem, summarizer, fill, withRecall,
        };
        command.Options.Add(RecallScenario.Messages);
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            // Its own prefix, never the user's conversations: {prefix}:bench:{random}, deleted afterwards.
            var config = CliOptions.Config(parsed, defaultMaxTurns: 20, defaultTtlSeconds: 1800);
            var mode = parsed.GetValue(summarizer);
            if (mode is not null && !config.Summarize)
            {
                throw new ArgumentException("--summarizer needs --summarize (or CHATMEM_SUMMARIZE=1).");
            }

            var summarizing = config.Summarize ? mode ?? "instant" : "off";
            if (parsed.GetValue(withRecall) && summarizing != "instant")
            {
                throw new ArgumentException("--recall needs --summarize with the instant summarizer.");
            }

            var settings = new BenchSettings(
                parsed.GetValue(scenario)!,
                Positive(parsed.GetValue(concurrency), "--concurrency"),
                Positive(parsed.GetValue(conversations), "--conversations"),
                Positive(parsed.GetValue(messageBytes), "--message-bytes"),
                parsed.GetValue(CliOptions.MaxTurns) ?? 20,
                (int)(parsed.GetValue(CliOptions.Ttl) ?? 1800),
                parsed.GetValue(ops) is null ? TimeSpan.FromSeconds(parsed.GetValue(duration) ?? 10) : null,
                parsed.GetValue(ops),
                TimeSpan.FromSeconds(parsed.GetValue(warmup)),
                parsed.GetValue(connections),
                parsed.GetValue(minThreads),
                parsed.GetValue(pinSystem),
                summarizing,
                parsed.GetValue(fill),
                config.MaxPendingMessages);
            if (settings.MinThreads < 0)
            {
                throw new ArgumentException($"--min-threads must be 0 or more (was {settings.MinThreads}).");
            }

            if (settings.MinThreads > 0)
            {
                ThreadPool.SetMinThreads(settings.MinThreads, settings.MinThreads);
            }

            config.KeyPrefix = $"{config.KeyPrefix}:bench:{Guid.NewGuid().ToString("N")[..8]}";
            config.Connections = settings.Connections;
            config.Window.PinSystemMessages = settings.PinSystem;
            config.Summarize |= RecallScenario.Handles(settings.Scenario);   // recall indexes what the summarizer folds

            // The instant summarizer runs in the background during the fill, the warm-up and the measurement, as the hosted
            // service would beside a service's appends; a failure would be logged to stderr (and fail the run). Its Delay is
            // 1 s, not the 5 s default, so that it folds many times within a cell of a few seconds (smaller batches than a
            // service would have: a conservative figure). The recall scenarios fold themselves, with their own embedder.
            using var embeddings = parsed.GetValue(withRecall) && !RecallScenario.Handles(settings.Scenario) ? new MiniLMEmbeddingGenerator() : null;
            using var instant = summarizing == "instant" && !RecallScenario.Handles(settings.Scenario) ? new InstantSummarizer() : null;
            var summaryLog = new StderrLogger<ChatMemorySummarizer>();
            var features = new ChatMemoryFeatures();
            if (instant is not null)
            {
                features.AddSummarizer(instant, new ChatMemorySummarizerOptions { Delay = TimeSpan.FromSeconds(1) }, summaryLog);
            }

            if (RecallScenario.Handles(settings.Scenario))
            {
                features.AddRecall(RecallScenario.Embedder);
            }
            else if (embeddings is not null)
            {
                features.AddRecall(embeddings, new StderrLogger<ChatMemoryRecall>());
            }

            var memory = session.Open(config, features);
            // Progress lines only for a person watching: never into a redirected stderr.
            Action<string>? progress = Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"bench: {line}");

            using var stopSummarizer = new CancellationTokenSource();
            var background = memory.GetService<ChatMemorySummarizer>()?.RunAsync(stopSummarizer.Token) ?? Task.CompletedTask;
            BenchResult result;
            try
            {
                result = RecallScenario.Handles(settings.Scenario)
                    ? await RecallScenario.RunAsync(memory, settings, parsed.GetValue(RecallScenario.Messages), progress, ct)
                    : await LoadGenerator.RunAsync(memory, settings, progress, ct);
            }
            finally
            {
                await stopSummarizer.CancelAsync();
                await background;
            }

            // Not with ct: after Ctrl-C the keys must still go. (When Redis fails mid-run there is no clean-up; the TTL,
            // 1800 s unless --ttl, is the backstop.)
            await LoadGenerator.CleanUpAsync(memory, settings, CancellationToken.None);

            var interrupted = ct.IsCancellationRequested;
            if (interrupted)
            {
                await Console.Error.WriteLineAsync("chatmem: bench interrupted; partial result:");
            }

            if (parsed.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, BenchJsonContext.Default.BenchResult));
            }
            else
            {
                AnsiConsole.Write(new Table().AddColumns("scenario", "callers", "ops", "seconds", "ops/s", "p50 ms", "p99 ms", "allocated B/op")
                    .AddRow(result.Scenario, F(result.Concurrency), F(result.Ops), F(result.Seconds, "0.0"), F(result.OpsPerSec), F(result.P50Ms, "0.000"),
                        F(result.P99Ms, "0.000"), F(result.AllocatedBytesPerOp)));
                if (summarizing != "off")
                {
                    // A table of its own: one row of twelve columns would not fit a terminal.
                    AnsiConsole.Write(new Table().AddColumns("summarizer", "messages summarized", "summarizations", "pending dropped")
                        .AddRow(summarizing, F(result.Summarized), F(result.Summarizations), F(result.Dropped)));
                }
            }

            return interrupted ? ExitCodes.Cancelled : summaryLog.Count > 0 ? ExitCodes.ModelFailed : ExitCodes.Ok;
        }, persistent: false));
        return command;
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new ArgumentException($"{option} must be at least 1 (was {value}).");

    private static string F(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);
}

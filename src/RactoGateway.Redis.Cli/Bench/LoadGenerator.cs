using System.Diagnostics;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>What <c>chatmem bench</c> runs: concurrent async callers on one memory object for a time or a count.</summary>
internal sealed record BenchSettings(
    string Scenario,
    int Concurrency,
    int Conversations,
    int MessageBytes,
    int MaxTurns,
    int TtlSeconds,
    TimeSpan? Duration,
    long? Ops,
    TimeSpan Warmup,
    int Connections = 1,
    int MinThreads = 0,
    bool PinSystem = false,
    string Summarizer = "off",
    bool Fill = false,
    int MaxPending = 1000);

/// <summary>The figures of one run, with the JSON keys <c>chatmem bench --json</c> prints.</summary>
internal sealed record BenchResult(
    string Scenario,
    int Concurrency,
    long Ops,
    double Seconds,
    double OpsPerSec,
    double P50Ms,
    double P99Ms,
    double AllocatedBytesPerOp,
    int Connections = 1,
    int MinThreads = 0,
    double ClientCpuSeconds = 0,
    int Gen0 = 0,
    int Gen1 = 0,
    int Gen2 = 0,
    string Summarizer = "off",
    long Summarized = 0,
    long Summarizations = 0,
    long Dropped = 0);

/// <summary>
/// A closed-loop load generator: <c>Concurrency</c> async callers, each issuing one operation at a time on a shared
/// <see cref="RedisChatMemory"/> (one multiplexer, as a service would). Latencies are kept in a preallocated array so
/// that measuring allocates nothing per operation.
/// </summary>
internal static class LoadGenerator
{
    /// <summary>Runs the scenario. When <paramref name="cancellationToken"/> fires (Ctrl-C), the callers stop and the
    /// result is what was measured until then; it never throws <see cref="OperationCanceledException"/>.</summary>
    /// <remarks>A raw-client ceiling of bench/ passes <c>operation</c>, the call each caller makes instead of the
    /// scenario's own (a scenario whose name reads "read" or "chat" fills every conversation's window first).</remarks>
    public static async Task<BenchResult> RunAsync(
        RedisChatMemory memory, BenchSettings settings, Action<string>? progress, CancellationToken cancellationToken, Func<Random, CancellationToken, Task>? operation = null)
    {
        var ids = Ids(settings);
        var content = new string('x', settings.MessageBytes);
        var measured = new Measurement();
        using var summary = settings.Summarizer == "off" ? null : new SummaryCounters();
        var (summarizedBefore, summariesBefore, droppedBefore) = (0L, 0L, 0L);
        try
        {
            if (settings.PinSystem || settings.Fill || settings.Summarizer != "off" || settings.Scenario.Contains("read", StringComparison.Ordinal) || settings.Scenario.Contains("chat", StringComparison.Ordinal))
            {
                // With no summarizer, the pending part starts at its cap too: the steady state of a summarizer that is down.
                var pending = settings.Summarizer == "none" ? settings.MaxPending : 0;
                await FillAsync(memory, ids, content, settings.MaxTurns * 2, pending, settings.PinSystem, cancellationToken);
            }

            if (settings.Warmup > TimeSpan.Zero)
            {
                await RunPhaseAsync(memory, operation, settings, ids, content, settings.Warmup, null, null, null, cancellationToken);
            }

            (summarizedBefore, summariesBefore, droppedBefore) = (summary?.Summarized ?? 0, summary?.Summaries ?? 0, summary?.Dropped ?? 0);
            measured.Start();
            await RunPhaseAsync(memory, operation, settings, ids, content, settings.Duration, settings.Ops, measured.Samples, measured.Count, cancellationToken, progress);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted before the measured phase ended: report what was measured.
        }

        return measured.Result(settings) with
        {
            Summarizer = settings.Summarizer,
            Summarized = (summary?.Summarized ?? 0) - summarizedBefore,
            Summarizations = (summary?.Summaries ?? 0) - summariesBefore,
            Dropped = (summary?.Dropped ?? 0) - droppedBefore,
        };
    }

    /// <summary>Deletes every conversation the run may have written (its ids are known: no SCAN needed).</summary>
    public static async Task CleanUpAsync(RedisChatMemory memory, BenchSettings settings, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(Ids(settings), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (id, ct) => await memory.ClearAsync(id, ct));

    /// <summary>The conversation ids the callers pick from.</summary>
    public static string[] Ids(BenchSettings settings) =>
        Enumerable.Range(0, settings.Conversations).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private static async Task FillAsync(RedisChatMemory memory, string[] ids, string content, int window, int pending, bool system, CancellationToken cancellationToken)
    {
        // A full window, so that every append trims (with pinning, behind a system prompt, so that every append trims
        // around a pinned message); with pending > 0, that many evicted messages before it, waiting to be summarized.
        var messages = Enumerable.Range(0, window + pending)
            .Select(i => new ChatMemoryMessage(system && i == 0 ? ChatRoles.System : i % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant, content)).ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (id, ct) => await memory.AppendManyAsync(id, messages, ct));
    }

    private static Task RunPhaseAsync(
        RedisChatMemory memory, Func<Random, CancellationToken, Task>? operation, BenchSettings settings, string[] ids, string content, TimeSpan? duration, long? ops,
        long[]? samples, long[]? count, CancellationToken cancellationToken, Action<string>? progress = null) =>
        MeasureAsync(settings.Concurrency, duration, ops, samples, count, operation ?? Operation(memory, settings.Scenario, ids, content), cancellationToken, progress);

    // One call per operation, chosen once: a single call returns the library's task itself, so that the measured
    // allocation is the library's, not an async frame of the load generator's (about 120 B per call).
    private static Func<Random, CancellationToken, Task> Operation(RedisChatMemory memory, string scenario, string[] ids, string content) => scenario switch
    {
        "append" => (random, ct) => memory.AppendAsync(ids[random.Next(ids.Length)], ChatRoles.User, content, ct),
        "read" => (random, ct) => memory.GetHistoryAsync(ids[random.Next(ids.Length)], ct),
        _ => async (random, ct) =>
        {
            // One chat turn: read the history, then store the question and the answer.
            var id = ids[random.Next(ids.Length)];
            await memory.GetHistoryAsync(id, ct).ConfigureAwait(false);
            await memory.AppendAsync(id, ChatRoles.User, content, ct).ConfigureAwait(false);
            await memory.AppendAsync(id, ChatRoles.Assistant, content, ct).ConfigureAwait(false);
        },
    };

    /// <summary>Runs <paramref name="operation"/> from <paramref name="concurrency"/> workers (each with its own seeded
    /// <see cref="Random"/>) until <paramref name="duration"/> passes or <paramref name="ops"/> are issued, counting each
    /// call and timing it into <paramref name="samples"/> (Stopwatch ticks); a call interrupted by Ctrl-C is not counted.</summary>
    internal static async Task MeasureAsync(
        int concurrency, TimeSpan? duration, long? ops, long[]? samples, long[]? count, Func<Random, CancellationToken, Task> operation,
        CancellationToken cancellationToken, Action<string>? progress = null)
    {
        count ??= new long[1];
        var deadline = duration is { } d ? Stopwatch.GetTimestamp() + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        var limit = ops ?? long.MaxValue;
        var issued = 0L;
        using var ticker = progress is null || duration is not { TotalSeconds: > 2 } ? null : new Timer(_ =>
            progress($"{Interlocked.Read(ref count[0]):N0} ops"), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        async Task Worker(int worker)
        {
            var random = new Random(worker);
            while (!cancellationToken.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline && Interlocked.Increment(ref issued) <= limit)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await operation(random, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Interrupted: the operation in flight is not counted.
                    return;
                }

                var elapsed = Stopwatch.GetTimestamp() - start;
                var n = Interlocked.Increment(ref count[0]);
                if (samples is not null && n <= samples.Length)
                {
                    samples[n - 1] = elapsed;
                }
            }
        }

        // No token on Task.Run: a worker that has not started when Ctrl-C comes simply does nothing.
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(() => Worker(w), CancellationToken.None)));
    }
}

using System.Diagnostics;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>
/// What a measured phase cost this process: wall time, CPU, allocation and collections from <see cref="Start"/> to
/// <see cref="Result"/>, with the latency percentiles of the samples the callers recorded (Stopwatch ticks). A phase
/// that never started (Ctrl-C during the fill or the warm-up) reports nothing.
/// </summary>
internal sealed class Measurement
{
    /// <summary>Latencies kept per phase: beyond this, operations are counted but not timed.</summary>
    public const int MaxSamples = 4_000_000;

    private readonly Stopwatch _clock = new();
    private long _allocated;
    private int _gen0;
    private int _gen1;
    private int _gen2;
    private TimeSpan _cpu;

    public long[] Samples { get; } = new long[MaxSamples];

    /// <summary>Operations completed, counted by the callers.</summary>
    public long[] Count { get; } = new long[1];

    public void Start()
    {
        _allocated = GC.GetTotalAllocatedBytes(precise: true);
        (_gen0, _gen1, _gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        _cpu = Process.GetCurrentProcess().TotalProcessorTime;
        _clock.Start();
    }

    public BenchResult Result(BenchSettings settings)
    {
        _clock.Stop();
        var started = _clock.Elapsed > TimeSpan.Zero;
        var seconds = _clock.Elapsed.TotalSeconds;
        var cpu = started ? (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalSeconds : 0;
        var allocated = started ? GC.GetTotalAllocatedBytes(precise: true) - _allocated : 0;
        var (gen0, gen1, gen2) = started ? (GC.CollectionCount(0) - _gen0, GC.CollectionCount(1) - _gen1, GC.CollectionCount(2) - _gen2) : (0, 0, 0);
        var ops = Count[0];
        var kept = (int)Math.Min(ops, MaxSamples);
        Array.Sort(Samples, 0, kept);
        double Percentile(double p) => kept == 0 ? 0 : Samples[Math.Min(kept - 1, (int)(p * kept))] * 1000.0 / Stopwatch.Frequency;
        return new BenchResult(settings.Scenario, settings.Concurrency, ops, seconds, seconds == 0 ? 0 : ops / seconds, Percentile(0.50), Percentile(0.99),
            ops == 0 ? 0 : (double)allocated / ops, settings.Connections, settings.MinThreads, cpu, gen0, gen1, gen2);
    }
}

using System.Diagnostics.Metrics;
using RactoGateway.Redis.Diagnostics;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>Messages folded into summaries, summarizations (each a read, a model call and a commit) and pending messages
/// dropped past the cap, from the library's own metrics (<c>ractogateway.chat_memory.summary.summarized</c>,
/// <c>.duration</c> and <c>.dropped</c>): what a summarize run did besides appending.</summary>
internal sealed class SummaryCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _summarized;
    private long _dropped;
    private long _summaries;

    public SummaryCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ChatMemoryTelemetry.Name
                && instrument.Name is "ractogateway.chat_memory.summary.summarized" or "ractogateway.chat_memory.summary.dropped"
                    or "ractogateway.chat_memory.summary.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name.EndsWith(".summarized", StringComparison.Ordinal))
            {
                Interlocked.Add(ref _summarized, value);
            }
            else
            {
                Interlocked.Add(ref _dropped, value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _summaries));
        _listener.Start();
    }

    public long Summarized => Interlocked.Read(ref _summarized);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Summaries => Interlocked.Read(ref _summaries);

    public void Dispose() => _listener.Dispose();
}

using RactoGateway.Redis.Connection;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace RactoGateway.Redis.Diagnostics;

/// <summary>
/// Traces and metrics, both named <c>RactoGateway.Redis</c>: a client span per operation following OpenTelemetry's
/// database conventions (<c>db.system.name</c>, <c>db.operation.name</c>, <c>db.client.operation.duration</c>), and
/// counters of messages appended, messages read and corrupt elements skipped. Nothing is recorded without a listener.
/// </summary>
internal static class ChatMemoryInstruments
{
    /// <summary>The name of the <see cref="ActivitySource"/> and the <see cref="Meter"/>.</summary>
    public const string Name = ChatMemoryTelemetry.Name;

    private static readonly string? Version = typeof(ChatMemoryInstruments).Assembly.GetName().Version?.ToString();
    private static readonly ActivitySource Source = new(Name, Version);
    private static readonly Meter Meter = new(Name, Version);

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "db.client.operation.duration", "s", "Duration of chat memory operations, one Redis round trip each.");

    private static readonly Counter<long> Appended = Meter.CreateCounter<long>(
        "ractogateway.chat_memory.messages.appended", "{message}", "Messages sent to Redis by appends (duplicates by id included).");

    private static readonly Counter<long> Read = Meter.CreateCounter<long>(
        "ractogateway.chat_memory.messages.read", "{message}", "Messages returned by history reads.");

    private static readonly Counter<long> Skipped = Meter.CreateCounter<long>(
        "ractogateway.chat_memory.corrupt_elements.skipped", "{element}", "Corrupt list elements skipped by history reads.");

    private static readonly Histogram<long> Pending = Meter.CreateHistogram<long>(
        "ractogateway.chat_memory.summary.pending", "{message}", "Messages waiting to be summarized in a conversation, as an evicting append left it.");

    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>(
        "ractogateway.chat_memory.summary.dropped", "{message}", "Pending messages dropped past MaxPendingMessages before they were summarized.");

    private static readonly Counter<long> Summarized = Meter.CreateCounter<long>(
        "ractogateway.chat_memory.summary.summarized", "{message}", "Messages folded into rolling summaries.");

    private static readonly Histogram<double> SummaryDuration = Meter.CreateHistogram<double>(
        "ractogateway.chat_memory.summary.duration", "s", "Duration of one summarization: read, the summarizing model's call, commit.");

    private static readonly Counter<long> SummaryFailures = Meter.CreateCounter<long>(
        "ractogateway.chat_memory.summary.failures", "{summarization}", "Summarizations that failed (the model or Redis threw, or the model answered no text); the messages stay pending.");

    public static void RecordPending(long pending) => Pending.Record(pending);

    public static void RecordPendingDropped(long dropped) => Dropped.Add(dropped);

    /// <summary>Starts the span of one summarization (when someone listens).</summary>
    public static Activity? StartSummary(string keyPrefix, string? conversationId)
    {
        var activity = Source.StartActivity($"summarize {keyPrefix}", ActivityKind.Internal);
        if (activity is not null && conversationId is not null)
        {
            activity.SetTag("ractogateway.conversation.id", conversationId);
        }

        return activity;
    }

    /// <summary>Ends a summarization: <paramref name="folded"/> messages folded in (0 when it lost a race), or failed.</summary>
    public static void EndSummary(Activity? activity, long started, long folded, Exception? error)
    {
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (error is null)
        {
            SummaryDuration.Record(elapsed);
            Summarized.Add(folded);
            activity?.SetTag("ractogateway.summary.folded", folded);
        }
        else
        {
            var type = error.GetType().FullName;
            SummaryDuration.Record(elapsed, new KeyValuePair<string, object?>("error.type", type));
            SummaryFailures.Add(1, new KeyValuePair<string, object?>("error.type", type));
            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            activity?.SetTag("error.type", type);
        }

        activity?.Dispose();
    }

    /// <summary>Starts timing (and, when someone listens, tracing) one operation.</summary>
    public static Operation Start(string operation, string keyPrefix, string? conversationId)
    {
        var activity = Source.StartActivity($"{operation} {keyPrefix}", ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("db.system.name", "redis");
            activity.SetTag("db.operation.name", operation);
            activity.SetTag("db.collection.name", keyPrefix);
            if (conversationId is not null)
            {
                activity.SetTag("ractogateway.conversation.id", conversationId);
            }
        }

        return new Operation(operation, activity, Stopwatch.GetTimestamp());
    }

    /// <summary>Runs one call as one traced, timed operation (<paramref name="appended"/>: messages it sends to be
    /// appended, 0 for other operations). The state argument keeps the hot path free of closures; the pooled builder
    /// and the call's <see cref="ValueTask{T}"/> leave the public method's task the only one of an operation (this
    /// method's own, as a task, measured 233 B per append).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T> RunAsync<TState, T>(
        string operation, string keyPrefix, string? conversationId, TState state, Func<TState, ValueTask<T>> call, CancellationToken cancellationToken, int appended = 0)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var op = Start(operation, keyPrefix, conversationId);
        try
        {
            var result = await ReplyWait<T>.WaitAsync(call(state), cancellationToken).ConfigureAwait(false);
            op.Complete(appended);
            return result;
        }
        catch (Exception ex) when (ChatConnection.AsDocumented(ex) is var documented)
        {
            op.Fail(documented);
            if (documented != ex)
            {
                throw documented;
            }

            throw;
        }
    }

    /// <inheritdoc cref="RunAsync"/>
    public static T Run<TState, T>(string operation, string keyPrefix, string? conversationId, TState state, Func<TState, T> call, int appended = 0)
    {
        var op = Start(operation, keyPrefix, conversationId);
        try
        {
            var result = call(state);
            op.Complete(appended);
            return result;
        }
        catch (Exception ex) when (ChatConnection.AsDocumented(ex) is var documented)
        {
            op.Fail(documented);
            if (documented != ex)
            {
                throw documented;
            }

            throw;
        }
    }

    public static void RecordRead(int messages, int skipped)
    {
        Read.Add(messages);
        if (skipped > 0)
        {
            Skipped.Add(skipped);
        }
    }

    /// <summary>One operation in flight: <see cref="Complete"/> or <see cref="Fail"/> ends it.</summary>
    public readonly struct Operation(string name, Activity? activity, long started)
    {
        /// <param name="appended">Messages the operation sent to be appended (0 for others).</param>
        public void Complete(int appended)
        {
            if (appended > 0)
            {
                Appended.Add(appended);
            }

            Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("db.operation.name", name));
            activity?.Dispose();
        }

        public void Fail(Exception error)
        {
            var type = error.GetType().FullName;
            Duration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("db.operation.name", name),
                new KeyValuePair<string, object?>("error.type", type));
            if (activity is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, error.Message);
                activity.SetTag("error.type", type);
                activity.Dispose();
            }
        }
    }
}

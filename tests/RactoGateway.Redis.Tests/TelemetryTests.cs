using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RactoGateway.Redis.Tests;

/// <summary>An ActivitySource and a Meter named RactoGateway.Redis: a client span per operation, counters, durations.</summary>
public class TelemetryTests
{
    [Theory, AllServers]
    public async Task Each_operation_is_a_client_span_with_database_attributes(string server)
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ChatMemoryTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var bed = await TestBed.CreateAsync(server);
        await using var optedIn = new RedisChatMemory(bed.Server.ConnectionString, new ChatMemoryConfig { KeyPrefix = bed.Config.KeyPrefix, IncludeConversationIdInTelemetry = true });

        await bed.Memory.AppendAsync("secret-id", "user", "hi");
        await bed.Memory.GetHistoryAsync("secret-id");
        await bed.Memory.CountAsync("secret-id");
        await bed.Memory.ClearAsync("secret-id");
        await optedIn.AppendAsync("shared-id", "user", "hi");

        var ours = spans.Where(a => (string?)a.GetTagItem("db.collection.name") == bed.Config.KeyPrefix).ToList();
        Assert.Equal(["append", "get_history", "count", "clear", "append"], ours.Select(a => (string)a.GetTagItem("db.operation.name")!));
        Assert.All(ours, a => Assert.Equal(ActivityKind.Client, a.Kind));
        Assert.All(ours, a => Assert.Equal("redis", a.GetTagItem("db.system.name")));
        Assert.Equal("append " + bed.Config.KeyPrefix, ours[0].DisplayName);
        Assert.DoesNotContain(ours.Take(4), a => a.GetTagItem("ractogateway.conversation.id") is not null);
        Assert.Equal("shared-id", ours[4].GetTagItem("ractogateway.conversation.id"));
    }

    [Theory, AllServers]
    public async Task Counters_and_durations_are_recorded(string server)
    {
        var measurements = new ConcurrentQueue<(string Instrument, double Value)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ChatMemoryTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => measurements.Enqueue((i.Name, v)));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => measurements.Enqueue((i.Name, v)));
        listener.Start();
        await using var bed = await TestBed.CreateAsync(server);

        await bed.Memory.AppendManyAsync("c", [new("user", "a"), new ChatMemoryMessage("assistant", "b")]);
        await bed.Raw.ListRightPushAsync(bed.Key("c"), "corrupt");
        await bed.Memory.GetHistoryAsync("c");

        // Other tests run in parallel: assert on at-least figures from this test's own operations.
        Assert.Contains(measurements, m => m.Instrument == "ractogateway.chat_memory.messages.appended" && m.Value == 2);
        Assert.Contains(measurements, m => m.Instrument == "ractogateway.chat_memory.messages.read" && m.Value == 2);
        Assert.Contains(measurements, m => m.Instrument == "ractogateway.chat_memory.corrupt_elements.skipped" && m.Value == 1);
        Assert.Contains(measurements, m => m.Instrument == "db.client.operation.duration" && m.Value > 0);
    }
}

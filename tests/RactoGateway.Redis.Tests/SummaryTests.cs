using System.Text;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Testing;
using RactoGateway.Redis.Testing.Servers;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>The rolling summary: evicted messages fold in exactly once, storage stays bounded, reads and models see it.</summary>
[Collection(HeavyCollection.Name)]
public sealed class SummaryTests
{
    private static void Summarizing(ChatMemoryConfig config, int maxTurns = 5, int maxPending = 1000)
    {
        config.MaxTurns = maxTurns;
        config.Summarize = true;
        config.MaxPendingMessages = maxPending;
        config.Window.PinSystemMessages = true;
    }

    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("cluster")]
    public async Task Every_evicted_message_folds_in_exactly_once_in_order_with_three_writers_and_two_summarizers(string server)
    {
        const int Appends = 20_000, Conversations = 8, Writers = 3;
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxPending: Appends));
        await using var replicaA = bed.NewReplica();
        await using var replicaB = bed.NewReplica();
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        ChatMemorySummarizer[] summarizers =
        [
            new(replicaA, model, new() { MaxMessagesPerCall = 7 }),
            new(replicaB, model, new() { MaxMessagesPerCall = 13 }),
        ];
        RedisChatMemory[] writersMemory = [bed.Memory, replicaA, replicaB];
        for (var c = 0; c < Conversations; c++)
        {
            await bed.Memory.AppendAsync($"c{c}", "system", "prompt");
        }

        var appended = Enumerable.Range(0, Conversations).Select(_ => new List<string>()).ToArray();
        using var done = new CancellationTokenSource();
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var random = new Random(1234 + w);
            for (var n = 0; n < Appends / Writers + (w < Appends % Writers ? 1 : 0); n++)
            {
                var c = random.Next(Conversations);
                var content = $"w{w}n{n}";
                await writersMemory[w].AppendAsync($"c{c}", n % 2 == 0 ? "user" : "assistant", content);
                lock (appended[c])
                {
                    appended[c].Add(content);
                }
            }
        })).ToList();
        var summarizing = summarizers.Select(s => Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                for (var c = 0; c < Conversations; c++)
                {
                    await s.SummarizePendingAsync($"c{c}");
                }
            }
        })).ToList();

        await Task.WhenAll(writers);
        await done.CancelAsync();
        await Task.WhenAll(summarizing);
        for (var c = 0; c < Conversations; c++)
        {
            await summarizers[c % 2].SummarizePendingAsync($"c{c}");
        }

        Assert.Empty(model.Rejections);
        Assert.Equal(Appends, appended.Sum(a => a.Count));
        for (var c = 0; c < Conversations; c++)
        {
            var (head, summary, pending, window) = await LayoutAsync(bed, $"c{c}");
            Assert.Equal(["prompt"], head);
            Assert.Equal(0, summary.Header.Pending);
            Assert.Empty(pending);
            var folded = summary.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(folded.Length, summary.Header.Folded);
            Assert.Equal(0, summary.Header.Dropped);
            string[] all = [.. folded, .. window];

            // Exactly once: every appended message is in the summary or the window, none twice, nothing else.
            Assert.Equal(all.Length, all.Distinct().Count());
            Assert.Equal(appended[c].Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));

            // In order: each writer's messages keep the order it appended them in.
            for (var w = 0; w < Writers; w++)
            {
                var mine = all.Where(m => m.StartsWith($"w{w}n", StringComparison.Ordinal)).Select(m => int.Parse(m[$"w{w}n".Length..])).ToList();
                Assert.Equal(mine.Order(), mine);
            }
        }
    }

    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("cluster")]
    public async Task With_no_summarizer_storage_stays_within_the_cap_and_the_oldest_pending_are_dropped_counted_and_logged(string server)
    {
        const int Appends = 10_000, Cap = 500, MaxTurns = 5;
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, MaxTurns, Cap));
        await bed.Memory.AppendAsync("c", "system", "prompt");
        for (var n = 0; n < Appends; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"m{n:D5}");
        }

        Assert.Equal(1 + 1 + Cap + (MaxTurns * 2), await bed.Raw.ListLengthAsync(bed.Key("c")));
        var (_, summary, pending, window) = await LayoutAsync(bed, "c");
        Assert.Equal(new SummaryHeader(Cap, 0, Appends - Cap - (MaxTurns * 2), summary.Header.Epoch), summary.Header);
        Assert.Equal(Cap, pending.Count);
        Assert.Contains(bed.Logger.Entries, e => e.Id.Name == "PendingMessagesDropped");

        // A summarizer that comes back folds what is left: the newest evicted, in order.
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        Assert.Equal(Cap, await new ChatMemorySummarizer(bed.Memory, model).SummarizePendingAsync("c"));
        (_, summary, _, var after) = await LayoutAsync(bed, "c");
        Assert.Equal(pending, summary.Text.Split(' '));
        Assert.Equal(window, after);
        Assert.Equal([.. pending.Order(StringComparer.Ordinal)], pending);
        Assert.Equal($"m{Appends - (MaxTurns * 2) - Cap:D5}", pending[0]);
    }

    [Theory, InlineData("redis"), InlineData("garnet"), InlineData("cluster"), InlineData("acl")]
    public async Task Reads_return_the_pinned_prompt_then_the_summary_then_the_window_and_a_strict_model_accepts_them(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            Summarizing(c, maxTurns: 2);
            c.Window.ToolCallAware = true;
        });
        await bed.Memory.AppendAsync("c", "system", "You are terse.");
        await bed.Memory.AppendTurnAsync("c", "My dog is Biscuit.", "Noted.");
        await bed.Memory.AppendManyAsync("c", [
            new ChatMemoryMessage("user", "Weather?"),
            new ChatMemoryMessage("assistant", "") { ToolCalls = [new("call_1", "get_weather", """{"city":"Paris"}""")] },
            new ChatMemoryMessage("tool", "21C") { ToolCallId = "call_1" },
            new ChatMemoryMessage("assistant", "21C in Paris."),
        ]);
        await bed.Memory.AppendTurnAsync("c", "Thanks", "Welcome.");

        // Evicted but not yet summarized: neither the pending messages nor an empty summary are read.
        Assert.Equal(["You are terse.", "Thanks", "Welcome."], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));

        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        var summarizer = new ChatMemorySummarizer(bed.Memory, model);
        Assert.Equal(6, await summarizer.SummarizePendingAsync("c"));
        var history = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(["You are terse.", "My dog is Biscuit. Noted. Weather?  21C 21C in Paris.", "Thanks", "Welcome."], history.Select(m => m.Content));
        Assert.Equal([false, true, false, false], history.Select(m => m.IsSummary));
        Assert.Equal("system", history[1].Role);

        // What a model is sent: the pinned prompt, the summary (marked), the window; a strict provider accepts it.
        var sent = await bed.Memory.GetChatMessagesForRequestAsync("c", [new ChatMessage(ChatRole.User, "And my dog?")]);
        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User, ChatRole.Assistant], sent.Select(m => m.Role));
        Assert.Equal(true, sent[1].AdditionalProperties?[ChatMessageConversions.SummaryProperty]);
        var chat = new StrictChatClient(ProviderDialect.Anthropic);
        await chat.GetResponseAsync([.. sent, new ChatMessage(ChatRole.User, "And my dog?")]);
        Assert.Empty(chat.Rejections);
        Assert.Empty(model.Rejections);
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task A_commit_that_lost_the_race_or_outlived_its_conversation_is_thrown_away(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxTurns: 1));
        for (var n = 0; n < 6; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"m{n}");
        }

        var script = new Scripts.SummaryScript(bed.Config);
        var stale = (await script.ReadAsync(bed.Raw, bed.Key("c"), 2))!;
        var first = (await script.ReadAsync(bed.Raw, bed.Key("c"), 2))!;
        var second = (await script.ReadAsync(bed.Raw, bed.Key("c"), 3))!;
        Assert.True((await script.CommitAsync(bed.Raw, bed.Key("c"), first, "m0 m1")).Committed);
        Assert.False((await script.CommitAsync(bed.Raw, bed.Key("c"), second, "m0 m1 m2")).Committed);

        // Cleared and written again: the same position (0) as the stale read's, another epoch.
        await bed.Memory.ClearAsync("c");
        // The new summary's epoch is Redis TIME (microseconds) when it is created: wait until the server's clock has
        // moved past the stale read's epoch, so that the epochs differ by cause, not by a delay.
        var staleEpoch = long.Parse(stale.Header.Epoch, System.Globalization.CultureInfo.InvariantCulture);
        while (await RedisTimeAsync(bed) <= staleEpoch)
        {
            await Task.Yield();
        }

        for (var n = 0; n < 6; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"x{n}");
        }

        Assert.NotEqual(stale.Header.Epoch, (await script.ReadAsync(bed.Raw, bed.Key("c"), 0))!.Header.Epoch);
        Assert.False((await script.CommitAsync(bed.Raw, bed.Key("c"), stale, "m0 m1")).Committed);
        var (_, summary, pending, window) = await LayoutAsync(bed, "c");
        Assert.Equal(("", 4L), (summary.Text, summary.Header.Pending));
        Assert.Equal(["x0", "x1", "x2", "x3"], pending);
        Assert.Equal(["x4", "x5"], window);
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task A_summarizing_chat_reducer_writes_the_summary_and_nothing_folded_is_lost(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxTurns: 1));
        var model = new StrictChatClient { Responder = (_, _, _) => new ChatResponse(new ChatMessage(ChatRole.Assistant, "gist")) };
#pragma warning disable MEAI001 // SummarizingChatReducer is experimental in M.E.AI; interop with it is what is tested.
        var summarizer = new ChatMemorySummarizer(bed.Memory, new SummarizingChatReducer(model, targetCount: 1, threshold: 0));
#pragma warning restore MEAI001
        for (var n = 0; n < 6; n++)
        {
            await bed.Memory.AppendAsync("c", n % 2 == 0 ? "user" : "assistant", $"m{n}");
        }

        Assert.Equal(4, await summarizer.SummarizePendingAsync("c"));

        // The reducer summarized all but its target count, which it kept as it was: that one is in the text too.
        var history = await bed.Memory.GetHistoryAsync("c");
        Assert.Equal(["gist\nassistant: m3", "m4", "m5"], history.Select(m => m.Content));
        Assert.Empty(model.Rejections);
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Inline_summarization_has_folded_the_evicted_messages_when_the_append_returns(string server)
    {
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxTurns: 1), features: new ChatMemoryFeatures().AddSummarizer(model, new() { Inline = true }));
        for (var n = 0; n < 5; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"m{n}");
        }

        // A sync append never waits for the model: its inline summarization runs in the background, and this call
        // waits for that one's lease (then finds nothing left, or folds what it has not yet).
        bed.Memory.Append("c", "user", "m5");
        await bed.Memory.GetRequiredService<ChatMemorySummarizer>().SummarizePendingAsync("c");
        Assert.Equal(["m0 m1 m2 m3", "m4", "m5"], (await bed.Memory.GetHistoryAsync("c")).Select(m => m.Content));
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Each_summarization_is_a_span_and_pending_summarized_dropped_and_failures_are_measured(string server)
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var tracing = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == ChatMemoryTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(tracing);
        var measured = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var metrics = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ChatMemoryTelemetry.Name && instrument.Name.StartsWith("ractogateway.chat_memory.summary.", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        metrics.SetMeasurementEventCallback<long>((instrument, value, _, _) => measured.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        metrics.SetMeasurementEventCallback<double>((instrument, _, _, _) => measured.AddOrUpdate(instrument.Name, 1, (_, count) => count + 1));
        metrics.Start();

        await using var bed = await TestBed.CreateAsync(server, c => Summarizing(c, maxTurns: 1, maxPending: 3));
        for (var n = 0; n < 7; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"m{n}");
        }

        var model = new StrictChatClient { Failure = new InvalidOperationException("model down") };
        var summarizer = new ChatMemorySummarizer(bed.Memory, model);
        await Assert.ThrowsAsync<InvalidOperationException>(() => summarizer.SummarizePendingAsync("c"));
        model.Failure = null;
        model.Responder = FoldReplies.Fold;
        Assert.Equal(3, await summarizer.SummarizePendingAsync("c"));

        // Other tests share the process-wide instruments: at least ours were counted.
        Assert.True(measured.GetValueOrDefault("ractogateway.chat_memory.summary.dropped") >= 2);
        Assert.True(measured.GetValueOrDefault("ractogateway.chat_memory.summary.summarized") >= 3);
        Assert.True(measured.GetValueOrDefault("ractogateway.chat_memory.summary.failures") >= 1);
        Assert.True(measured.GetValueOrDefault("ractogateway.chat_memory.summary.pending") >= 3);
        Assert.True(measured.GetValueOrDefault("ractogateway.chat_memory.summary.duration") >= 2);
        var ours = spans.Where(a => a.DisplayName == "summarize " + bed.Config.KeyPrefix).ToList();
        Assert.Equal([System.Diagnostics.ActivityStatusCode.Error, System.Diagnostics.ActivityStatusCode.Unset], ours.Select(a => a.Status));
        Assert.Equal(3L, ours[1].GetTagItem("ractogateway.summary.folded"));
    }

    [Fact]
    public async Task Bad_settings_are_refused_before_any_io()
    {
        using var memory = new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"), new ChatMemoryConfig { Summarize = true });
        using var plain = new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"));
        var model = new StrictChatClient();

        Assert.Equal("memory", Assert.Throws<ArgumentException>(() => new ChatMemorySummarizer(plain, model)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new ChatMemorySummarizer(memory, model, new() { MaxMessagesPerCall = 0 })).ParamName);
        Assert.Equal("summaryClient", Assert.Throws<ArgumentNullException>(() => new ChatMemorySummarizer(memory, (IChatClient)null!)).ParamName);
        var summarizer = new ChatMemorySummarizer(memory, model);
        Assert.Throws<InvalidOperationException>(() => new ChatMemoryFeatures().AddSummarizer(model).AddSummarizer(model));
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new ChatMemoryFeatures().AddSummarizer(model, new() { MaxMessagesPerCall = 0 })).ParamName);
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => new RedisChatMemory(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100"))
        {
            Features = new ChatMemoryFeatures().AddSummarizer(model),
        }).ParamName);
        Assert.Equal("conversationId", (await Assert.ThrowsAsync<ArgumentException>(() => summarizer.SummarizePendingAsync(" "))).ParamName);
        Assert.Contains("MaxPendingMessages", Assert.Throws<ArgumentException>(() => new RedisChatMemory("redis://127.0.0.1:1", new ChatMemoryConfig { MaxPendingMessages = 0 })).Message);
        Assert.Equal("message", (await Assert.ThrowsAsync<ArgumentException>(() => memory.AppendAsync("c", new ChatMemoryMessage("system", "x") { IsSummary = true }))).ParamName);
        await Task.CompletedTask;
    }

    /// <summary>The list as stored: pinned contents, the summary, pending contents, window contents.</summary>
    internal static async Task<(List<string> Head, (SummaryHeader Header, string Text) Summary, List<string> Pending, List<string> Window)> LayoutAsync(TestBed bed, string conversationId)
    {
        var elements = await bed.Raw.ListRangeAsync(bed.Key(conversationId));
        var at = Array.FindIndex(elements, e => SummaryElement.TryReadHeader((byte[])e!, out _));
        Assert.True(at >= 0, "no summary element");
        SummaryElement.TryReadHeader((byte[])elements[at]!, out var header);
        string Content(RedisValue e) => MessageCodec.TryDecode(e)!.Content;
        return (
            elements[..at].Select(Content).ToList(),
            (header, Content(elements[at])),
            elements[(at + 1)..(at + 1 + (int)header.Pending)].Select(Content).ToList(),
            elements[(at + 1 + (int)header.Pending)..].Select(Content).ToList());
    }

    /// <summary>Redis TIME as append.lua writes an epoch: seconds, then six digits of microseconds.</summary>
    private static async Task<long> RedisTimeAsync(TestBed bed)
    {
        var time = (RedisResult[])(await bed.Raw.ExecuteAsync("TIME"))!;
        return (long.Parse((string)time[0]!, System.Globalization.CultureInfo.InvariantCulture) * 1_000_000) + long.Parse((string)time[1]!, System.Globalization.CultureInfo.InvariantCulture);
    }
}

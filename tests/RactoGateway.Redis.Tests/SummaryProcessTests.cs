using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RactoGateway.Redis.Testing;

namespace RactoGateway.Redis.Tests;

/// <summary>The rolling summary across processes: a killed summarizer, a Python reader, the hosted service.</summary>
public sealed class SummaryProcessTests
{
    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task A_summarizer_killed_mid_summary_loses_nothing_and_another_process_finishes_its_work(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 2;
            c.Summarize = true;
        });
        for (var n = 0; n < 64; n++)
        {
            await bed.Memory.AppendAsync("c", "user", $"m{n:D2}");
        }

        // A real OS process folds two batches of 10, then hangs inside the model call of the third: SIGKILL there.
        using (var child = LoadProcess.Start(["summarize", bed.Server.ConnectionString, bed.Config.KeyPrefix, "c", "2", "10", "2"]))
        {
            var stderr = child.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                Assert.Equal("in-model", await child.StandardOutput.ReadLineAsync(timeout.Token));
            }
            finally
            {
                child.Kill(); // SIGKILL, by its own pid
                await child.WaitForExitAsync();
            }

            Assert.Equal(137, child.ExitCode);
            _ = await stderr;
        }

        var (_, summary, pending, _) = await SummaryTests.LayoutAsync(bed, "c");
        Assert.Equal((20L, 40L), (summary.Header.Folded, summary.Header.Pending));
        Assert.Equal(Enumerable.Range(0, 20).Select(n => $"m{n:D2}"), summary.Text.Split(' '));

        // Another process (this one) finishes the work: every evicted message once, in order.
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        Assert.Equal(40, await new ChatMemorySummarizer(bed.Memory, model).SummarizePendingAsync("c"));
        (_, summary, pending, var window) = await SummaryTests.LayoutAsync(bed, "c");
        Assert.Equal(Enumerable.Range(0, 60).Select(n => $"m{n:D2}"), summary.Text.Split(' '));
        Assert.Empty(pending);
        Assert.Equal(["m60", "m61", "m62", "m63"], window);
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Python_reads_a_summarized_conversation_and_sees_the_summary_as_a_system_message(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 1;
            c.Summarize = true;
            c.Window.PinSystemMessages = true;
        });
        await bed.Memory.AppendAsync("c", "system", "You are terse.");
        for (var n = 0; n < 4; n++)
        {
            await bed.Memory.AppendAsync("c", n % 2 == 0 ? "user" : "assistant", $"m{n}");
        }

        await new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold }).SummarizePendingAsync("c");
        await bed.Memory.AppendAsync("c", "user", "m4"); // m2 leaves the window: pending again
        var elements = (await bed.Raw.ListRangeAsync(bed.Key("c"))).Select(e => Encoding.UTF8.GetString((byte[])e!));

        // The seed's get_history: json.loads of each element, nothing skipped.
        var python = Python.Run(
            """
            import json, sys
            for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
                d = json.loads(line)
                assert type(d['role']) is str and type(d['content']) is str
                print(d['role'], d['content'], 'summary' in d)
            """,
            Encoding.UTF8.GetBytes(string.Join('\n', elements)));

        Assert.Equal(["system You are terse. False", "system m0 m1 True", "user m2 False", "assistant m3 False", "user m4 False"], python);
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task The_hosted_service_summarizes_in_the_background(string server)
    {
        var testServer = await TestServers.GetAsync(server);
        var prefix = TestServers.UniquePrefix();
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRedisChatMemory(testServer.ConnectionString, c =>
        {
            c.KeyPrefix = prefix;
            c.MaxTurns = 1;
            c.Summarize = true;
        });
        builder.Services.AddSingleton<IChatClient>(model);
        builder.Services.AddRedisChatMemorySummarizer(o => o.MaxMessagesPerCall = 3);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var memory = host.Services.GetRequiredService<IChatMemory>();
            for (var n = 0; n < 12; n++)
            {
                await memory.AppendAsync("c", new ChatMemoryMessage("user", $"m{n}"));
            }

            var expected = string.Join(' ', Enumerable.Range(0, 10).Select(n => $"m{n}"));
            var waited = Stopwatch.StartNew();
            IReadOnlyList<ChatMemoryMessage> history;
            while ((history = await memory.GetHistoryAsync("c")).FirstOrDefault(m => m.IsSummary)?.Content != expected && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            Assert.Equal([expected, "m10", "m11"], history.Select(m => m.Content));
            Assert.Empty(model.Rejections);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}

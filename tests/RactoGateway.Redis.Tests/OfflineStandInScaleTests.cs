using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>RactoGateway.Redis.Offline at scale: the echo model behind the memory middleware and the concatenating
/// summarizer over thousands of turns, with tool calls and streaming, on a real server.</summary>
[Collection(HeavyCollection.Name)]
public sealed class OfflineStandInScaleTests
{
    private const string FoldHeader = "\n\nMessages to fold in, oldest first:\n";

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Two_thousand_turns_keep_every_model_request_valid_and_the_summary_holds_the_newest_folded_lines(string server)
    {
        const int Turns = 2000, MaxSummaryTokens = 64;
        var modelRequests = new List<List<ChatMessage>>();
        var summaryRequests = new List<List<ChatMessage>>();
        var folded = new List<string>();
        using var summaryModel = new ChatClientBuilder(new ConcatenatingSummarizer())
            .Use((messages, options, next, cancellationToken) =>
            {
                List<ChatMessage> request = [.. messages];
                lock (folded)
                {
                    summaryRequests.Add(request);
                    folded.AddRange(request[^1].Text.Split(FoldHeader, 2)[1].Split('\n', StringSplitOptions.RemoveEmptyEntries));
                }

                return next(request, options, cancellationToken);
            })
            .Build();
        await using var bed = await TestBed.CreateAsync(server, c =>
        {
            c.MaxTurns = 4;
            c.Summarize = true;
            c.Window.PinSystemMessages = true;
            c.Window.ToolCallAware = true;
        }, features: new ChatMemoryFeatures().AddSummarizer(summaryModel, new() { Inline = true, MaxSummaryTokens = MaxSummaryTokens }));
        using var chat = new ChatClientBuilder(new EchoChatClient())
            .UseChatMemory(bed.Memory)
            .UseFunctionInvocation()
            .Use((messages, options, next, cancellationToken) =>
            {
                lock (modelRequests)
                {
                    modelRequests.Add([.. messages]);
                }

                return next(messages, options, cancellationToken);
            })
            .Build();
        var lookup = AIFunctionFactory.Create((string query) => "found " + query, "lookup");
        await bed.Memory.AppendAsync("c", "system", "Be brief.");

        var appended = 1;
        List<string> userLines = [];
        for (var turn = 0; turn < Turns; turn++)
        {
            // Every 10th turn calls the tool (4 messages: user, call, result, answer); every 3rd is streamed.
            var tool = turn % 10 == 0;
            var text = tool ? $"lookup fact {turn}" : $"turn {turn}";
            var options = new ChatOptions { ConversationId = "c", Tools = tool ? [lookup] : null };
            var response = turn % 3 == 0
                ? await chat.GetStreamingResponseAsync(new ChatMessage(ChatRole.User, text), options).ToChatResponseAsync()
                : await chat.GetResponseAsync(new ChatMessage(ChatRole.User, text), options);

            if (tool)
            {
                Assert.Equal($"echo: found lookup fact {turn}", response.Messages[^1].Text);
            }
            else
            {
                Assert.StartsWith($"echo: turn {turn} (I remember ", Assert.Single(response.Messages).Text);
            }

            appended += tool ? 4 : 2;
            userLines.Add("user: " + text);
        }

        await bed.Memory.GetRequiredService<ChatMemorySummarizer>().SummarizePendingAsync("c");
        var (head, summary, pending, window) = await SummaryTests.LayoutAsync(bed, "c");

        // Every model request was one a provider accepts (the echo model refuses any other, and is checked again here).
        Assert.Equal(Turns + (Turns / 10), modelRequests.Count);
        Assert.All(modelRequests, request => Assert.Null(ProviderRules.Check(request)));
        Assert.All(summaryRequests, request => Assert.Null(ProviderRules.Check(request)));

        // Every message that left the window was folded exactly once, in order.
        Assert.Equal(["Be brief."], head);
        Assert.Empty(pending);
        Assert.Equal(appended - 1 - window.Count, folded.Count);
        var foldedUsers = folded.Where(l => l.StartsWith("user: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(userLines.Take(foldedUsers.Count), foldedUsers);
        Assert.True(foldedUsers.Count > Turns - 10, $"{foldedUsers.Count} user messages folded");

        // The summary is the newest folded lines that fit the bound.
        var expected = new List<string>();
        var length = -1;
        for (var i = folded.Count - 1; i >= 0 && length + 1 + folded[i].Length <= MaxSummaryTokens * 4; i--)
        {
            length += 1 + folded[i].Length;
            expected.Insert(0, folded[i]);
        }

        Assert.True(expected.Count >= 3, $"{expected.Count} lines fit");
        Assert.Equal(string.Join('\n', expected), summary.Text);
        Assert.Equal(0, summary.Header.Pending);
    }
}

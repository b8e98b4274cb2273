using System.Globalization;
using Microsoft.Extensions.AI;
using RactoGateway.Redis;
using RactoGateway.Redis.Testing;

namespace RactoGateway.Load;

/// <summary>
/// A summarizer that dies mid-summary: it folds <c>foldedCalls</c> batches of <c>perCall</c> pending messages of one
/// conversation with the deterministic <see cref="FoldReplies"/> model, then, inside the next model call, prints
/// "in-model" and waits forever, for the test to SIGKILL it.
/// </summary>
internal static class SummarizeThenHang
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 6)
        {
            await Console.Error.WriteLineAsync("usage: RactoGateway.Load summarize <connection> <prefix> <conversation> <maxTurns> <perCall> <foldedCalls>");
            return 2;
        }

        var config = new ChatMemoryConfig { KeyPrefix = args[1], MaxTurns = int.Parse(args[3], CultureInfo.InvariantCulture), Summarize = true };
        var foldedCalls = int.Parse(args[5], CultureInfo.InvariantCulture);
        await using var memory = new RedisChatMemory(args[0], config);
        var model = new StrictChatClient
        {
            Responder = (sent, options, number) =>
            {
                if (number > foldedCalls)
                {
                    Console.WriteLine("in-model");
                    Console.Out.Flush();
                    Thread.Sleep(Timeout.Infinite);
                }

                return FoldReplies.Fold(sent, options, number);
            },
        };
        var summarizer = new ChatMemorySummarizer(memory, model, new ChatMemorySummarizerOptions { MaxMessagesPerCall = int.Parse(args[4], CultureInfo.InvariantCulture) });
        await summarizer.SummarizePendingAsync(args[2]);
        return 0;
    }
}

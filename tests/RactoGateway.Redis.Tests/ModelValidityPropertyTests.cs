using System.Diagnostics;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Agents;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// "What a model receives is always valid", as a property: seeded random conversations (text, parallel tool calls,
/// partial and orphan results, system messages, custom roles, empty messages) stored under every window rule and size,
/// then read back through every model-facing path (the plain and budgeted reads, the per-request read with a request
/// that may answer a pending call, the IChatClient middleware, the Agent Framework provider) with budgets from 0 up, a
/// quarter of them truncated at a random message and a quarter continued as a fork of their first messages, and
/// sent to the strict provider test model. Zero rejections. The sequence count is fixed (no timing in the assertion);
/// the count, the requests and the time go to the test output and to <c>$CHATMEM_TEST_REPORT</c> (scripts/test.sh prints it).
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class ModelValidityPropertyTests(ITestOutputHelper output)
{
    private const int SequencesPerServer = 2500;
    private const string RecallPlease = "recall please";

    [Theory]
    [InlineData("redis")]
    [InlineData("garnet")]
    public async Task Every_model_facing_path_sends_only_requests_a_provider_accepts(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var prefix = TestServers.UniquePrefix();
        var seed = 20261126;
        var random = new Random(seed);
        // The model calls the search_memory tool when asked "recall please" (these servers have no vector sets: the tool
        // answers with its error JSON, which is a tool exchange like any other), and echoes otherwise.
        var model = new StrictChatClient { Responder = SearchMemoryReplies.Responder(RecallPlease, "a", "zzz") };
        var targets = new List<Target>();
        foreach (var recallOnDemand in new[] { false, true })
        {
            foreach (var pin in new[] { false, true })
            {
                foreach (var aware in new[] { false, true })
                {
                    foreach (var maxTurns in new[] { 1, 2, 3, 6 })
                    {
                        var config = new ChatMemoryConfig
                        {
                            KeyPrefix = $"{prefix}:{recallOnDemand}:{pin}:{aware}:{maxTurns}",
                            MaxTurns = maxTurns,
                            AllowCustomRoles = true,
                            TokenCounter = new SizeCounter(),
                            Window = { PinSystemMessages = pin, ToolCallAware = aware },
                            Summarize = recallOnDemand,
                        };
                        var memory = new RedisChatMemory(connection, config)
                        {
                            Features = recallOnDemand ? new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()) : null,
                        };
                        var agentOptions = new ChatClientAgentOptions { Name = "property" }.UseRedisChatHistory(memory);
                        if (recallOnDemand)
                        {
                            agentOptions.UseRedisRecall(memory.GetRequiredService<ChatMemoryRecall>(), new() { Mode = ChatMemoryRecallMode.OnDemand });
                        }

                        targets.Add(new Target(config, memory, model.AsAIAgent(agentOptions), recallOnDemand));
                    }
                }
            }
        }

        var clock = Stopwatch.StartNew();
        var requests = 0;
        var rawRefused = 0;
        var branches = 0;
        var refusedBranches = 0;
        var searchCalls = 0;
        try
        {
            for (var sequence = 0; sequence < SequencesPerServer; sequence++)
            {
                var target = targets[random.Next(targets.Count)];
                var memory = target.Memory;
                var id = $"seq{sequence}";
                var messages = Conversation(random, sequence);
                for (var at = 0; at < messages.Count;)
                {
                    var batch = Math.Min(messages.Count - at, 1 + random.Next(4));
                    await memory.AppendManyAsync(id, messages.GetRange(at, batch));
                    at += batch;
                }

                // Branches: now and then the conversation is cut at a random message (edit and regenerate), or continued
                // as a fork of its first messages; what follows reads and extends the result.
                // A keep below the pinned run and the summary is refused with nothing written: that outcome is checked
                // here too (the conversation as it was, no fork target), and the sequence goes on unbranched.
                var branch = random.Next(4);
                if (branch < 2)
                {
                    var before = await memory.GetHistoryAsync(id);
                    var keep = random.Next(before.Count + 1);
                    try
                    {
                        if (branch == 0)
                        {
                            await memory.TruncateAsync(id, keep);
                        }
                        else
                        {
                            await memory.ForkAsync(id, id + "f", keep);
                            await memory.ClearAsync(id);
                            id += "f";
                        }

                        branches++;
                    }
                    catch (ArgumentOutOfRangeException refused) when (refused.ParamName == "keep")
                    {
                        static string Shape(ChatMemoryMessage m) =>
                            $"{m.Role}|{m.Content}|{m.ToolCallId}|{string.Join(",", m.ToolCalls?.Select(c => c.Id) ?? [])}";
                        Assert.Equal(before.Select(Shape), (await memory.GetHistoryAsync(id)).Select(Shape));
                        Assert.Equal(0, await memory.CountAsync(id + "f"));
                        refusedBranches++;
                    }
                }

                var budget = random.Next(0, 80);
                var stored = await memory.GetHistoryAsync(id);
                string Context() => $"sequence {sequence} (seed {seed}), {target.Config.Window}, MaxTurns {target.Config.MaxTurns}, budget {budget}; stored: " +
                    string.Join(" | ", stored.Select(m => $"{m.Role}{(m.ToolCalls is { } c ? "(" + string.Join(",", c.Select(t => t.Id)) + ")" : "")}{(m.ToolCallId is { } r ? "[" + r + "]" : "")}:{m.Content}"));

                // How often the raw records, sent as they are stored, would have been refused: the property means something.
                if (ProviderRules.Check([.. stored.Select(m => m.ToChatMessage()), new ChatMessage(ChatRole.User, "next")]) is not null)
                {
                    rawRefused++;
                }

                // A request that answers the calls the stored history ends with (FunctionInvokingChatClient outside the
                // memory), or a new user message.
                List<ChatMessage> request = stored is [.., { Role: ChatRoles.Assistant, ToolCalls: { Count: > 0 } pending }] && random.Next(2) == 0
                    ? [new ChatMessage(ChatRole.Tool, [.. pending.Select(c => (AIContent)new FunctionResultContent(c.Id, "done"))])]
                    : [new ChatMessage(ChatRole.User, "next")];

                await SendAsync(model, [.. await memory.GetChatMessagesAsync(id), new ChatMessage(ChatRole.User, "next")], Context);
                await SendAsync(model, [.. await memory.GetChatMessagesAsync(id, budget), new ChatMessage(ChatRole.User, "next")], Context);
                await SendAsync(model, [.. (await memory.GetHistoryAsync(id, budget)).Select(m => m.ToChatMessage()), new ChatMessage(ChatRole.User, "next")], Context);
                await SendAsync(model, [.. await memory.GetChatMessagesForRequestAsync(id, request), .. request], Context);
                await SendAsync(model, [.. await memory.GetChatMessagesForRequestAsync(id, request, budget), .. request], Context);
                requests += 5;

                // The middleware and the agent provider as an application runs them (each stores its turn); with recall
                // on demand, now and then the model calls search_memory (one more request: the tool's result).
                var searches = target.RecallOnDemand && random.Next(3) == 0;
                if (searches && request is [{ Role.Value: "user" }])
                {
                    request = [new ChatMessage(ChatRole.User, RecallPlease)];
                }

                using (var client = new ChatClientBuilder(model)
                    .UseChatMemory(memory, o =>
                    {
                        o.MaxHistoryTokens = random.Next(2) == 0 ? budget : null;
                        o.RecallMode = target.RecallOnDemand ? ChatMemoryRecallMode.OnDemand : ChatMemoryRecallMode.Automatic;
                    })
                    .UseFunctionInvocation()
                    .Build())
                {
                    await Guard(() => client.GetResponseAsync(request, new ChatOptions { ConversationId = id }), Context);
                }

                var session = await target.Agent.CreateSessionAsync();
                target.Agent.Provider().SetConversationId(session, id);
                await Guard(() => target.Agent.RunAsync(searches ? RecallPlease : "next", session), Context);
                var extra = (searches && request[0].Text == RecallPlease ? 1 : 0) + (searches ? 1 : 0);
                searchCalls += extra;
                requests += 2 + extra;
                await memory.ClearAsync(id);
            }
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.Memory.DisposeAsync();
            }
        }

        var line = $"model-validity property: {SequencesPerServer} sequences, {model.Rejections.Count} rejections " +
            $"({serverName}: {requests} requests to the strict model, {searchCalls} of them answering search_memory calls, {rawRefused} stored histories a provider would refuse as stored, {branches} truncated or forked ({refusedBranches} refused: keep inside the summary), " +
            $"{clock.Elapsed.TotalSeconds:F1} s, seed {seed})";
        output.WriteLine(line);
        Console.WriteLine(line);
        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_REPORT") is { Length: > 0 } report)
        {
            await File.AppendAllTextAsync(report, line + Environment.NewLine);
        }

        Assert.Empty(model.Rejections);
        Assert.Equal(requests, model.Calls.Count);
        Assert.True(rawRefused > SequencesPerServer / 10, $"only {rawRefused} raw histories were invalid: the generator no longer tests much");
    }

    private static async Task SendAsync(StrictChatClient model, List<ChatMessage> messages, Func<string> context) =>
        await Guard(() => model.GetResponseAsync(messages), context);

    private static async Task Guard<T>(Func<Task<T>> send, Func<string> context)
    {
        try
        {
            await send();
        }
        catch (ProviderRejectedException rejected)
        {
            throw new ProviderRejectedException(rejected.Error with { Message = rejected.Error.Message + " -- " + context() });
        }
    }

    /// <summary>A random conversation, as applications (and Python services, and crashes) leave them in storage.</summary>
    private static List<ChatMemoryMessage> Conversation(Random random, int sequence)
    {
        var messages = new List<ChatMemoryMessage>();
        var events = 1 + random.Next(24);
        var call = 0;
        for (var e = 0; e < events; e++)
        {
            var roll = random.Next(100);
            var text = new string((char)('a' + random.Next(26)), random.Next(1, 12));
            switch (roll)
            {
                case < 8:
                    messages.Add(new ChatMemoryMessage(ChatRoles.System, "sys " + text));
                    break;
                case < 38:
                    messages.Add(new ChatMemoryMessage(ChatRoles.User, text));
                    break;
                case < 58:
                    messages.Add(new ChatMemoryMessage(ChatRoles.Assistant, text));
                    break;
                case < 90:
                {
                    // Parallel tool calls, answered in any order; now and then only some of them (a crash mid-exchange).
                    // Some are calls of the search_memory tool, answered with its JSON (hits, or its error).
                    var calls = Enumerable.Range(0, 1 + random.Next(3))
                        .Select(_ => random.Next(4) == 0
                            ? new ChatMemoryToolCall($"c{sequence}_{++call}", ChatMemorySearchToolOptions.DefaultName, $$"""{"query":"{{text}}","top":{{1 + random.Next(5)}}}""")
                            : new ChatMemoryToolCall($"c{sequence}_{++call}", "f", """{"x":1}"""))
                        .ToList();
                    messages.Add(new ChatMemoryMessage(ChatRoles.Assistant, random.Next(4) == 0 ? text : "") { ToolCalls = calls });
                    var answered = random.Next(10) == 0 ? calls.Take(random.Next(calls.Count)).ToList() : calls;
                    foreach (var c in answered.OrderBy(_ => random.Next()))
                    {
                        var result = c.Name != ChatMemorySearchToolOptions.DefaultName ? "r" + text
                            : random.Next(3) == 0 ? """{"recalled":[],"error":"Long-term memory is not available on this server."}"""
                            : $$"""{"recalled":[{"role":"user","text":"{{text}}","time":"2026-11-26T10:00:00Z","conversation":"seq{{sequence}}","position":{{e}},"score":0.9}]}""";
                        messages.Add(new ChatMemoryMessage(ChatRoles.Tool, random.Next(8) == 0 ? "" : result) { ToolCallId = c.Id });
                    }

                    break;
                }

                case < 93:
                    messages.Add(new ChatMemoryMessage(ChatRoles.Tool, "orphan") { ToolCallId = $"gone{sequence}_{e}" });
                    break;
                case < 95:
                    messages.Add(new ChatMemoryMessage(ChatRoles.Tool, "no call id"));
                    break;
                case < 97:
                    messages.Add(new ChatMemoryMessage("critic", text));
                    break;
                default:
                    messages.Add(new ChatMemoryMessage(random.Next(2) == 0 ? ChatRoles.User : ChatRoles.Assistant, ""));
                    break;
            }
        }

        return messages;
    }

    private sealed record Target(ChatMemoryConfig Config, RedisChatMemory Memory, ChatClientAgent Agent, bool RecallOnDemand);

    private sealed class SizeCounter : IChatTokenCounter
    {
        public int CountTokens(ChatMemoryMessage message) => 1 + message.Content.Length + (3 * (message.ToolCalls?.Count ?? 0));
    }
}

internal static class AgentExtensions
{
    public static RedisChatHistoryProvider Provider(this ChatClientAgent agent) => Assert.IsType<RedisChatHistoryProvider>(agent.ChatHistoryProvider);
}

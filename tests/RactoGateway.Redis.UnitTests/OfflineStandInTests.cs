using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>RactoGateway.Redis.Offline: the echo client's replies, tool calls and refusals, and the concatenating
/// summarizer on the library's own summarizing request.</summary>
public sealed class OfflineStandInTests
{
    private static ChatMessage System(string text) => new(ChatRole.System, text);

    private static ChatMessage User(string text) => new(ChatRole.User, text);

    private static ChatMessage Assistant(string text) => new(ChatRole.Assistant, text);

    private static ChatMessage Calls(params string[] ids) =>
        new(ChatRole.Assistant, [.. ids.Select(id => (AIContent)new FunctionCallContent(id, "lookup", new Dictionary<string, object?>()))]);

    private static ChatMessage Result(string id, object? result) => new(ChatRole.Tool, [new FunctionResultContent(id, result)]);

    private static async Task<string> StreamedTextAsync(IChatClient client, IEnumerable<ChatMessage> messages, ChatOptions? options = null)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
        {
            updates.Add(update);
        }

        return Assert.Single(updates).Text;
    }

    [Fact]
    public async Task Echo_answers_the_last_user_message_with_the_number_of_messages_before_it_streaming_or_not()
    {
        using var echo = new EchoChatClient();
        ChatMessage[] conversation = [System("Be brief."), User("my name is Ada"), Assistant("echo: my name is Ada (I remember 1 earlier messages)"), User("who am I?")];

        var response = await echo.GetResponseAsync(conversation);

        Assert.Equal("echo: who am I? (I remember 3 earlier messages)", response.Text);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("offline-echo", response.ModelId);
        Assert.Equal("echo: who am I? (I remember 3 earlier messages)", await StreamedTextAsync(echo, conversation));
        Assert.Equal("echo: hi (I remember 0 earlier messages)", (await echo.GetResponseAsync("hi")).Text);
    }

    [Fact]
    public async Task Echo_and_summarizer_offer_themselves_and_their_metadata_and_nothing_else()
    {
        using var echo = new EchoChatClient();
        using var summarizer = new ConcatenatingSummarizer();

        Assert.Same(echo, echo.GetService<EchoChatClient>());
        Assert.Same(echo, echo.GetService<IChatClient>());
        Assert.Equal("offline-echo", echo.GetService<ChatClientMetadata>()!.ProviderName);
        Assert.Null(echo.GetService<EchoChatClient>("key"));
        Assert.Null(echo.GetService<ConcatenatingSummarizer>());
        Assert.Throws<ArgumentNullException>("serviceType", () => echo.GetService(null!));
        Assert.Same(summarizer, summarizer.GetService<ConcatenatingSummarizer>());
        Assert.Null(summarizer.GetService<EchoChatClient>());
        await Assert.ThrowsAsync<ArgumentNullException>("messages", () => echo.GetResponseAsync((IEnumerable<ChatMessage>)null!));
        Assert.Throws<ArgumentNullException>("messages", () => summarizer.GetStreamingResponseAsync(null!));
    }

    public static TheoryData<string, ChatMessage[], string> Refused => new()
    {
        { "empty conversation", [], "empty array" },
        { "unknown role", [User("q"), new(new ChatRole("critic"), "x"), User("r")], "messages.[1].role" },
        { "orphan tool result", [User("q"), Result("call_9", "r")], "messages.[1].role" },
        { "result of another message's call", [User("q"), Calls("a"), Result("a", "r"), Assistant("x"), User("again"), Result("a", "r")], "messages.[5].role" },
        { "tool call unanswered before the next user message", [User("q"), Calls("a", "b"), Result("a", "r"), User("next")], "messages.[1].role" },
        { "tool call unanswered at the end", [User("q"), Calls("a")], "messages.[1].role" },
        { "user message without content", [User("q"), Assistant("x"), new ChatMessage(ChatRole.User, [])], "messages.[2].content" },
    };

    [Theory, MemberData(nameof(Refused))]
    public async Task Echo_refuses_what_a_provider_refuses_naming_the_rule_and_the_message_streaming_or_not(string rule, ChatMessage[] conversation, string names)
    {
        using var echo = new EchoChatClient();

        var refused = await Assert.ThrowsAsync<ProviderRejectedException>(() => echo.GetResponseAsync(conversation));
        var streamed = Assert.Throws<ProviderRejectedException>(() => echo.GetStreamingResponseAsync(conversation));

        Assert.IsAssignableFrom<InvalidOperationException>(refused);
        Assert.Contains(names, refused.Message);
        Assert.Equal(refused.Message, streamed.Message);
        Assert.NotNull(rule);
    }

    [Theory, InlineData("assistant"), InlineData("system")]
    public async Task Echo_refuses_a_conversation_that_ends_with_neither_the_user_nor_tool_results(string role)
    {
        using var echo = new EchoChatClient();
        ChatMessage[] conversation = [User("q"), Assistant("a"), new(new ChatRole(role), "last")];

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => echo.GetResponseAsync(conversation));

        Assert.Contains("ends with the user's message or with tool results", refused.Message);
        Assert.Contains($"messages[2], has role '{role}'", refused.Message);
        Assert.Throws<InvalidOperationException>(() => echo.GetStreamingResponseAsync(conversation));
    }

    [Fact]
    public async Task Echo_calls_an_offered_function_named_by_a_whole_word_with_the_text_as_its_first_string_parameter()
    {
        using var echo = new EchoChatClient();
        var lookup = AIFunctionFactory.Create((int limit, string query) => $"found {query}", "lookup");
        var clock = AIFunctionFactory.Create(() => "noon", "clock");
        var square = AIFunctionFactory.Create((int n) => n * n, "square");
        var options = new ChatOptions { Tools = [clock, lookup, square] };

        var call = Assert.IsType<FunctionCallContent>(Assert.Single((await echo.GetResponseAsync([User("please lookup Ada")], options)).Messages[0].Contents));
        var noArguments = Assert.IsType<FunctionCallContent>(Assert.Single((await echo.GetResponseAsync([User("what does the clock say?")], options)).Messages[0].Contents));
        var noString = Assert.IsType<FunctionCallContent>(Assert.Single((await echo.GetResponseAsync([User("square it")], options)).Messages[0].Contents));

        Assert.Equal(("call_1", "lookup"), (call.CallId, call.Name));
        Assert.Equal("please lookup Ada", Assert.Single(call.Arguments!, a => a.Key == "query").Value);
        Assert.Single(call.Arguments!);
        Assert.Equal("clock", noArguments.Name);
        Assert.Empty(noArguments.Arguments!);
        Assert.Equal("square", noString.Name);
        Assert.Empty(noString.Arguments!);
        Assert.Equal(ChatFinishReason.ToolCalls, (await echo.GetResponseAsync([User("lookup")], options)).FinishReason);

        // Not a whole word, not offered, or no tools at all: the plain echo.
        Assert.StartsWith("echo: lookups", (await echo.GetResponseAsync([User("lookups")], options)).Text);
        Assert.StartsWith("echo: my_lookup", (await echo.GetResponseAsync([User("my_lookup")], options)).Text);
        Assert.StartsWith("echo: Lookup", (await echo.GetResponseAsync([User("Lookup Ada")], options)).Text);
        Assert.StartsWith("echo: lookup", (await echo.GetResponseAsync([User("lookup Ada")])).Text);
        Assert.StartsWith("echo: weather", (await echo.GetResponseAsync([User("weather")], options)).Text);
    }

    [Fact]
    public async Task Echo_call_ids_are_unique_within_the_conversation_and_tool_results_are_echoed_joined()
    {
        using var echo = new EchoChatClient();
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((string query) => query, "lookup")] };
        ChatMessage[] history =
        [
            User("lookup one"), Calls("call_1", "call_4"), Result("call_1", "r1"), Result("call_4", JsonSerializer.SerializeToElement("r4")),
            Assistant("echo: r1; r4"), User("lookup two"),
        ];

        var next = Assert.IsType<FunctionCallContent>(Assert.Single((await echo.GetResponseAsync(history, options)).Messages[0].Contents));
        var echoed = await echo.GetResponseAsync(history[..4], options);

        Assert.Equal("call_5", next.CallId);
        Assert.Equal("echo: r1; r4", echoed.Text);
        Assert.Equal("echo: r1; r4", await StreamedTextAsync(echo, history[..4], options));
        Assert.Equal("echo: 42; {\"a\":1}; ", (await echo.GetResponseAsync(
            [User("q"), Calls("x", "y", "z"), Result("x", 42), Result("y", JsonSerializer.SerializeToElement(new Dictionary<string, int> { ["a"] = 1 })), Result("z", null)])).Text);
    }

    [Theory, InlineData(false), InlineData(true)]
    public async Task Echo_round_trips_a_tool_call_through_FunctionInvokingChatClient(bool streaming)
    {
        var invoked = new List<string>();
        var lookup = AIFunctionFactory.Create((string query) =>
        {
            invoked.Add(query);
            return $"Ada is a mathematician ({invoked.Count})";
        }, "lookup");
        var recorded = new List<List<ChatMessage>>();
        using var client = new ChatClientBuilder(new EchoChatClient())
            .UseFunctionInvocation()
            .Use((messages, options, next, cancellationToken) =>
            {
                recorded.Add([.. messages]);
                return next(messages, options, cancellationToken);
            })
            .Build();
        var options = new ChatOptions { Tools = [lookup] };
        List<ChatMessage> conversation = [User("lookup Ada")];

        async Task<ChatResponse> AskAsync()
        {
            var response = streaming
                ? await client.GetStreamingResponseAsync(conversation, options).ToChatResponseAsync()
                : await client.GetResponseAsync(conversation, options);
            conversation.AddRange(response.Messages);
            return response;
        }

        var first = await AskAsync();
        conversation.Add(User("lookup Ada again"));
        var second = await AskAsync();

        Assert.Equal(["lookup Ada", "lookup Ada again"], invoked);
        Assert.Equal("echo: Ada is a mathematician (1)", first.Text);
        Assert.Equal("echo: Ada is a mathematician (2)", second.Text);
        Assert.Equal(4, recorded.Count);
        var calls = conversation.SelectMany(m => m.Contents.OfType<FunctionCallContent>()).Select(c => c.CallId).ToList();
        Assert.Equal(["call_1", "call_2"], calls);
        Assert.All(recorded, request => Assert.Null(ProviderRules.Check(request, ProviderDialect.OpenAI | ProviderDialect.Anthropic)));
    }

    private static ChatMemoryMessage Message(string role, string content) => new(role, content);

    [Fact]
    public async Task Summarizer_concatenates_the_summary_so_far_and_the_library_request_lines_streaming_or_not()
    {
        using var summarizer = new ConcatenatingSummarizer();
        var write = SummaryText.FromClient(summarizer, new ChatMemorySummarizerOptions());
        ChatMemoryMessage[] first =
        [
            Message("user", "my name is Ada"),
            Message("assistant", "hello\nAda") with { ToolCalls = [new("call_1", "lookup", """{"query":"Ada"}""")] },
            Message("tool", "a mathematician") with { ToolCallId = "call_1" },
        ];

        var summary = await write("", first, default);
        var next = await write(summary, [Message("user", "who am I?")], default);

        Assert.Equal(
            "user: my name is Ada\nassistant: hello Ada [calls lookup {\"query\":\"Ada\"} as call_1]\ntool (result of call_1): a mathematician",
            summary);
        Assert.Equal(summary + "\nuser: who am I?", next);
        Assert.Equal(next, await write(summary, [Message("user", "who am I?")], default));
        ChatMessage[] request = [System("prompt"), User(SummaryText.Request(summary, [Message("user", "who am I?")]))];
        Assert.Equal(next, await StreamedTextAsync(summarizer, request));
        Assert.Equal(ChatFinishReason.Stop, (await summarizer.GetResponseAsync(request)).FinishReason);
    }

    [Fact]
    public async Task Summarizer_keeps_the_newest_lines_that_fit_the_bound_and_all_lines_without_one()
    {
        using var summarizer = new ConcatenatingSummarizer();
        var lines = Enumerable.Range(0, 100).Select(n => Message(n % 2 == 0 ? "user" : "assistant", $"message {n}")).ToList();
        var request = SummaryText.Request("", lines);
        var all = string.Join('\n', lines.Select(m => $"{m.Role}: {m.Content}"));

        foreach (var tokens in new[] { 16, 17, 50, 100, 1000 })
        {
            var summary = await SummaryText.FromClient(summarizer, new ChatMemorySummarizerOptions { MaxSummaryTokens = tokens })("", lines, default);

            Assert.True(summary.Length <= tokens * 4, $"{summary.Length} > {tokens * 4}");
            Assert.EndsWith("assistant: message 99", summary);
            Assert.EndsWith(summary, all);
            Assert.True(all.Length <= tokens * 4 || summary.Length > (tokens * 4) - "assistant: message 99\n".Length, "a further line would have fit");
            Assert.Equal('\n', (all.Length == summary.Length ? '\n' : all[^(summary.Length + 1)]));
        }

        Assert.Equal(all, (await summarizer.GetResponseAsync([System("p"), User(request)])).Text);
        Assert.Equal(all, (await summarizer.GetResponseAsync([System("p"), User(request)], new ChatOptions { MaxOutputTokens = null })).Text);
    }

    [Fact]
    public async Task Summarizer_cuts_a_newest_line_longer_than_the_bound_and_refuses_a_bound_below_one()
    {
        using var summarizer = new ConcatenatingSummarizer();
        var request = SummaryText.Request("user: old", [Message("user", new string('x', 500))]);

        var cut = await summarizer.GetResponseAsync([User(request)], new ChatOptions { MaxOutputTokens = 16 });

        Assert.Equal("user: " + new string('x', 58), cut.Text);
        var error = await Assert.ThrowsAsync<ArgumentException>("options", () => summarizer.GetResponseAsync([User(request)], new ChatOptions { MaxOutputTokens = 0 }));
        Assert.Contains("MaxOutputTokens must be at least 1", error.Message);
    }

    [Fact]
    public async Task Summarizer_sent_a_plain_conversation_concatenates_its_messages_but_the_system_prompt()
    {
        using var summarizer = new ConcatenatingSummarizer();

        var summary = await summarizer.GetResponseAsync([System("prompt"), User("one\ntwo"), Assistant("three")]);

        Assert.Equal("user: one two\nassistant: three", summary.Text);
        Assert.Equal("", (await summarizer.GetResponseAsync([])).Text);
    }
}

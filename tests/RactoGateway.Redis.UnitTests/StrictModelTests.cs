using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>The strict provider test model refuses what providers refuse, in process and over HTTP.</summary>
public sealed class StrictModelTests
{
    private static ChatMessage User(string text) => new(ChatRole.User, text);

    private static ChatMessage Assistant(string text) => new(ChatRole.Assistant, text);

    private static ChatMessage Calls(params string[] ids) =>
        new(ChatRole.Assistant, [.. ids.Select(id => (AIContent)new FunctionCallContent(id, "f", new Dictionary<string, object?>()))]);

    private static ChatMessage Results(params string[] ids) => new(ChatRole.Tool, [.. ids.Select(id => (AIContent)new FunctionResultContent(id, "r"))]);

    [Fact]
    public void OpenAI_rules_accept_valid_requests_and_refuse_the_rest_with_the_providers_words()
    {
        Assert.Null(ProviderRules.Check([new(ChatRole.System, "sys"), User("q"), Calls("a", "b"), Results("b"), Results("a"), Assistant("x"), User("y")]));
        Assert.Null(ProviderRules.Check([Assistant("hi"), User("q"), Calls("a"), Results("a")]));

        var orphan = ProviderRules.Check([Results("a"), Assistant("x"), User("q")])!;
        Assert.Equal("messages.[0].role", orphan.Param);
        Assert.Contains("messages with role 'tool' must be a response to a preceeding message with 'tool_calls'", orphan.Message);
        var unanswered = ProviderRules.Check([User("q"), Calls("a", "b"), Results("a"), User("next")])!;
        Assert.Contains("did not have response messages: b", unanswered.Message);
        Assert.NotNull(ProviderRules.Check([User("q"), Calls("a")]));                                     // unanswered at the end
        Assert.NotNull(ProviderRules.Check([User("q"), Calls("a"), User("between"), Results("a")]));      // not right after
        Assert.NotNull(ProviderRules.Check([User("q"), Calls("a"), Results("a"), Results("a")]));         // answered twice
        Assert.Contains("Invalid value: 'critic'", ProviderRules.Check([new(new ChatRole("critic"), "x")])!.Message);
        Assert.Contains("Missing required parameter", ProviderRules.Check([new ChatMessage(ChatRole.User, [])])!.Message);
        Assert.Contains("expected a string, got null", ProviderRules.Check([User("q"), new ChatMessage(ChatRole.Assistant, [])])!.Message);
        Assert.NotNull(ProviderRules.Check([new ChatMessage(ChatRole.Tool, "no call id")]));
        Assert.NotNull(ProviderRules.Check([]));
    }

    [Fact]
    public void Anthropic_rules_add_system_first_alternation_and_tool_result_right_after_tool_use()
    {
        const ProviderDialect both = ProviderDialect.OpenAI | ProviderDialect.Anthropic;
        Assert.Null(ProviderRules.Check([new(ChatRole.System, "sys"), User("q"), Calls("a", "b"), Results("a"), Results("b"), Assistant("x"), User("y")], both));

        Assert.Contains("Unexpected role \"system\"", ProviderRules.Check([User("q"), new(ChatRole.System, "late"), Assistant("x")], both)!.Message);
        Assert.Contains("first message must use the \"user\" role", ProviderRules.Check([Assistant("x"), User("q")], both)!.Message);
        Assert.Contains("roles must alternate", ProviderRules.Check([User("q"), User("r")], both)!.Message);
        Assert.Contains("text content blocks must be non-empty", ProviderRules.Check([User("")], both)!.Message);
        Assert.Null(ProviderRules.Check([User("q"), User("r")]));                                          // OpenAI takes it
    }

    [Fact]
    public async Task A_refused_request_fails_with_the_provider_error_and_is_recorded()
    {
        var model = new StrictChatClient();

        var refused = await Assert.ThrowsAsync<ProviderRejectedException>(() => model.GetResponseAsync([Results("a"), User("q")]));
        var answered = await model.GetResponseAsync([User("hello")]);

        Assert.Equal(400, refused.Error.Status);
        Assert.StartsWith("HTTP 400 from openai: invalid_request_error: Invalid parameter: messages with role 'tool'", refused.Message);
        Assert.Single(model.Rejections);
        Assert.Equal("echo: hello", answered.Text);
        Assert.Equal(2, model.Calls.Count);
    }
}

namespace RactoGateway.Redis.Tests;

/// <summary>The one filter between stored records and a model request (no server needed: it never touches storage).</summary>
public sealed class ModelHistoryTests
{
    private static ChatMemoryMessage Calls(string text, params string[] ids) =>
        new(ChatRoles.Assistant, text) { ToolCalls = [.. ids.Select(id => new ChatMemoryToolCall(id, "f", "{}"))] };

    private static ChatMemoryMessage Result(string id) => new(ChatRoles.Tool, "r" + id) { ToolCallId = id };

    private static string[] Shape(IEnumerable<ChatMemoryMessage> messages) =>
        [.. messages.Select(m => m.Role + (m.ToolCalls is { } c ? "(" + string.Join(",", c.Select(t => t.Id)) + ")" : "") + (m.ToolCallId is { } r ? "[" + r + "]" : "") + ":" + m.Content)];

    [Fact]
    public void An_orphan_result_at_the_head_is_left_out()
    {
        Assert.Equal(["assistant:x", "user:q"], Shape(ModelHistory.Filter([Result("a"), new("assistant", "x"), new("user", "q")])));
    }

    [Fact]
    public void Unanswered_calls_are_left_out_of_their_message_and_answered_ones_stay()
    {
        Assert.Equal(["user:q", "assistant(b):t", "tool[b]:rb", "user:n"],
            Shape(ModelHistory.Filter([new("user", "q"), Calls("t", "a", "b"), Result("b"), new("user", "n")])));
        Assert.Equal(["user:q", "user:n"], Shape(ModelHistory.Filter([new("user", "q"), Calls("", "a"), new("user", "n")])));
    }

    [Fact]
    public void A_message_between_a_call_and_its_result_separates_them_and_custom_roles_do_not()
    {
        Assert.Equal(["user:q", "system:s", "assistant:x"],
            Shape(ModelHistory.Filter([new("user", "q"), Calls("", "a"), new("system", "s"), Result("a"), new("assistant", "x")])));
        Assert.Equal(["user:q", "assistant(a):", "tool[a]:ra"],
            Shape(ModelHistory.Filter([new("user", "q"), Calls("", "a"), new("critic", "c"), Result("a")])));
    }

    [Fact]
    public void A_result_is_sent_once_and_empty_messages_are_left_out()
    {
        Assert.Equal(["assistant(a):", "tool[a]:ra"], Shape(ModelHistory.Filter([Calls("", "a"), Result("a"), Result("a"), new("user", "")])));
        Assert.Equal([], Shape(ModelHistory.Filter([new("tool", "no id"), new("assistant", "")])));
    }

    [Fact]
    public void Trailing_calls_stay_when_the_request_answers_them()
    {
        ChatMemoryMessage[] stored = [new("user", "q"), Calls("", "a", "b")];

        Assert.Equal(["user:q"], Shape(ModelHistory.Filter(stored)));
        Assert.Equal(["user:q", "assistant(a,b):"], Shape(ModelHistory.Filter(stored, new HashSet<string> { "a", "b" })));
        Assert.Equal(1, ModelHistory.PendingGroupStart(stored, new HashSet<string> { "a" }));
        Assert.Equal(2, ModelHistory.PendingGroupStart(stored, null));
    }
}

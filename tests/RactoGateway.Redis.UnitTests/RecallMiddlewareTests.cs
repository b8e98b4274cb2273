using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>The recalled-context system message (<see cref="ChatMemoryRecall.ToContextMessage"/>): ordered, deduplicated
/// against what the request already sends, and marked; the middleware on real servers is in the integration tier.</summary>
public sealed class RecallMiddlewareTests
{
    [Fact]
    public void The_context_message_is_ordered_deduplicated_and_marked()
    {
        static RecalledMessage Hit(string role, string content, long position, string? id = null) =>
            new(new ChatMemoryMessage(role, content) { MessageId = id }, "c", position, 0.9);

        var context = ChatMemoryRecall.ToContextMessage(
            [
                Hit("assistant", "Biscuit is a fine name.", 7),
                Hit("user", "My dog is called Biscuit.", 2),
                Hit("user", "My dog is called Biscuit.", 40),          // a repeat
                Hit("user", "Still in the window.", 9, id: "m9"),       // sent anyway, by id
                Hit("assistant", "Noted.", 11),                         // sent anyway, by role and text
                Hit("tool", "21C\nsunny", 5),
                Hit("user", "  ", 3),
            ],
            [new ChatMessage(ChatRole.User, "still in the window, reworded") { MessageId = "m9" }, new ChatMessage(ChatRole.Assistant, "Noted.")]);

        Assert.NotNull(context);
        Assert.Equal(ChatRole.System, context.Role);
        Assert.Equal(true, context.AdditionalProperties?[ChatMemoryRecall.ContextPropertyName]);
        Assert.Equal(
            "Earlier in this conversation (recalled, oldest first):\n- user: My dog is called Biscuit.\n- tool: 21C\n  sunny\n- assistant: Biscuit is a fine name.",
            context.Text);

        Assert.Null(ChatMemoryRecall.ToContextMessage([]));
        Assert.Null(ChatMemoryRecall.ToContextMessage([Hit("assistant", "Noted.", 1)], [new ChatMessage(ChatRole.Assistant, "Noted.")]));
        Assert.Equal("recalled", Assert.Throws<ArgumentNullException>(() => ChatMemoryRecall.ToContextMessage(null!)).ParamName);
    }
}

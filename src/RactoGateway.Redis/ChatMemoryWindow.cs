namespace RactoGateway.Redis;

/// <summary>
/// How a conversation is trimmed to its window of <c>MaxTurns * 2</c> messages. The default is ractogateway's rule:
/// count every message and drop the oldest. Both options are enforced inside the single append round trip.
/// </summary>
public sealed class ChatMemoryWindow
{
    /// <summary>
    /// System messages stay in the list where they are: never trimmed and not counted. The window counts the others.
    /// </summary>
    public bool PinSystemMessages { get; set; }

    /// <summary>
    /// Trim whole exchanges, never half of one: a <c>user</c> message goes together with the replies, tool calls and tool
    /// results after it (up to the next <c>user</c> message); an assistant message with tool calls goes together with the
    /// <c>tool</c> results after it. A history never starts with an orphan tool result, and a turn is never split
    /// (unless one exchange alone is longer than the window: it is then trimmed message by message, tool groups whole).
    /// </summary>
    public bool ToolCallAware { get; set; }

    /// <summary>Whether this is ractogateway's rule (no option set).</summary>
    public bool IsSeedRule => !PinSystemMessages && !ToolCallAware;

    /// <inheritdoc />
    public override string ToString() => IsSeedRule ? "seed" : $"PinSystemMessages={PinSystemMessages}, ToolCallAware={ToolCallAware}";
}

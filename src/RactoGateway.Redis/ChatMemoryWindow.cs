namespace RactoGateway.Redis;

/// <summary>
/// How a conversation is trimmed to its window of <c>MaxTurns * 2</c> messages. The default is ractogateway's rule:
/// count every message and drop the oldest. Both options are enforced inside the single append round trip.
/// </summary>
public sealed class ChatMemoryWindow
{
    /// <summary>The default of <see cref="MaxPinnedMessages"/>: 32.</summary>
    public const int DefaultMaxPinnedMessages = 32;

    /// <summary>
    /// System messages are pinned: never trimmed by the window and not counted; the window counts the others. Pinned
    /// messages are kept as a run at the head of the list, oldest first, so a system message appended mid-conversation
    /// moves to the head at once. At most <see cref="MaxPinnedMessages"/> are kept.
    /// </summary>
    public bool PinSystemMessages { get; set; }

    /// <summary>
    /// The most pinned system messages a conversation keeps under <see cref="PinSystemMessages"/> (default
    /// <see cref="DefaultMaxPinnedMessages"/>, at least 1). When a new one would exceed it, the oldest pinned message after
    /// the first goes, so the original system prompt stays. A conversation therefore stores at most
    /// <c>MaxTurns * 2 + MaxPinnedMessages</c> messages, and an append's cost does not grow with the turns ever appended.
    /// </summary>
    public int MaxPinnedMessages { get; set; } = DefaultMaxPinnedMessages;

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
    public override string ToString() => IsSeedRule
        ? "seed"
        : $"PinSystemMessages={PinSystemMessages}, MaxPinnedMessages={MaxPinnedMessages}, ToolCallAware={ToolCallAware}";

    /// <summary>A copy, so that later changes to the caller's object cannot change a running memory.</summary>
    internal ChatMemoryWindow Clone() => (ChatMemoryWindow)MemberwiseClone();
}

namespace RactoGateway.Redis;

/// <summary>One stored message of a conversation, as ractogateway keeps it: a role and its text.</summary>
/// <param name="Role">The author: <c>user</c>, <c>assistant</c>, <c>system</c> or <c>tool</c> (or a custom role when allowed).</param>
/// <param name="Content">The text of the message.</param>
public sealed record ChatMemoryMessage(string Role, string Content);

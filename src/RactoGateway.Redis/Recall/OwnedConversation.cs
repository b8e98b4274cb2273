namespace RactoGateway.Redis;

/// <summary>A conversation of an owner (a user or tenant), as the owner index lists it.</summary>
/// <param name="ConversationId">The conversation's id.</param>
/// <param name="Title">The first user message, cut short; empty when none was recorded yet.</param>
/// <param name="LastActivity">The latest activity recorded for the conversation (millisecond precision).</param>
public sealed record OwnedConversation(string ConversationId, string Title, DateTimeOffset LastActivity);

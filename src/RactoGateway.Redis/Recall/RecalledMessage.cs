namespace RactoGateway.Redis;

/// <summary>A stored message found by long-term recall, with where it came from and how close it is to the query.</summary>
/// <param name="Message">The message as it was appended.</param>
/// <param name="ConversationId">The conversation it belongs to.</param>
/// <param name="Position">Its absolute position in the conversation (0 for the first message ever appended).</param>
/// <param name="Score">Similarity to the query, from 0 (opposite) to 1 (same direction): Redis 8's <c>VSIM</c> score,
/// <c>(1 + cosine) / 2</c>, on every supported server. Higher is closer; the vectors are stored quantized, so it is approximate.</param>
public sealed record RecalledMessage(ChatMemoryMessage Message, string ConversationId, long Position, double Score);

namespace RactoGateway.Redis;

/// <summary>
/// Counts the tokens a message costs in a prompt, for <c>GetHistoryAsync(conversationId, maxTokens)</c>.
/// The RactoGateway.Redis.Tokenizers package provides one for OpenAI's o200k_base encoding.
/// </summary>
public interface IChatTokenCounter
{
    /// <summary>The tokens <paramref name="message"/> costs, its role and framing included.</summary>
    /// <param name="message">A stored message.</param>
    /// <returns>A count of at least 0.</returns>
    int CountTokens(ChatMemoryMessage message);
}

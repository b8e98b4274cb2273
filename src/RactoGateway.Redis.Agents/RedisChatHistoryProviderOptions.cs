using Microsoft.Agents.AI;

namespace RactoGateway.Redis.Agents;

/// <summary>Settings of a <see cref="RedisChatHistoryProvider"/>. The window itself (MaxTurns, pinned system
/// messages, tool-call-aware trimming, TTL) is the <see cref="RedisChatMemory"/>'s own <see cref="ChatMemoryConfig"/>.</summary>
public sealed class RedisChatHistoryProviderOptions
{
    /// <summary>When set, the history sent to the model is the newest that fits this many tokens (whole exchanges,
    /// pinned system messages first), counted by the memory's <see cref="ChatMemoryConfig.TokenCounter"/>, which must
    /// then be set. Storage stays bounded by MaxTurns either way. At least 0.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>The key of this provider's state in <see cref="AgentSession.StateBag"/>; defaults to
    /// <c>RedisChatHistoryProvider</c>. Change it only to use two providers in one agent.</summary>
    public string? StateKey { get; set; }

    /// <summary>Makes the Redis conversation id of a new session; defaults to a new <see cref="Guid"/> ("N" format).
    /// The id is then kept in the session's state, so it is called once per session.</summary>
    public Func<AgentSession, string>? ConversationIdFactory { get; set; }
}

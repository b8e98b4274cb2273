using Microsoft.Agents.AI;

namespace RactoGateway.Redis.Agents;

/// <summary>Settings of a <see cref="RedisRecallContextProvider"/>.</summary>
public sealed class RedisRecallContextProviderOptions
{
    /// <summary>How many earlier messages to recall at most per run, from 1 to <see cref="ChatMemoryRecall.MaxTop"/> (default 5).</summary>
    public int Top { get; set; } = 5;

    /// <summary>The Redis conversation id of a run; <see langword="null"/> skips recall for that run. Defaults to the
    /// conversation of the agent's <see cref="RedisChatHistoryProvider"/> (<see cref="RedisChatHistoryProvider.GetConversationId"/>).</summary>
    public Func<AIAgent, AgentSession?, string?>? ConversationIdSelector { get; set; }
}

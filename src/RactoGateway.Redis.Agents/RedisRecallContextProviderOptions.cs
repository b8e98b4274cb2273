using Microsoft.Agents.AI;

namespace RactoGateway.Redis.Agents;

/// <summary>Settings of a <see cref="RedisRecallContextProvider"/>.</summary>
public sealed class RedisRecallContextProviderOptions
{
    /// <summary>How recall reaches the model: <see cref="ChatMemoryRecallMode.Automatic"/> (the default: the recalled
    /// messages in the run's instructions), <see cref="ChatMemoryRecallMode.OnDemand"/> (the run's context offers the
    /// <c>search_memory</c> tool of <see cref="ChatMemoryRecall.CreateSearchTool"/>, bound to the session's conversation,
    /// which the agent's function invocation calls when the model asks; its call and result are stored like any tool
    /// exchange), or <see cref="ChatMemoryRecallMode.Both"/>.</summary>
    public ChatMemoryRecallMode Mode { get; set; } = ChatMemoryRecallMode.Automatic;

    /// <summary>Settings of the <c>search_memory</c> tool (name, description, scope, bounds of <c>top</c>) in
    /// <see cref="ChatMemoryRecallMode.OnDemand"/> and <see cref="ChatMemoryRecallMode.Both"/> modes; optional.</summary>
    public ChatMemorySearchToolOptions? SearchTool { get; set; }

    /// <summary>How many earlier messages to recall at most per run, from 1 to <see cref="ChatMemoryRecall.MaxTop"/> (default 5), in <see cref="ChatMemoryRecallMode.Automatic"/> and <see cref="ChatMemoryRecallMode.Both"/> modes.</summary>
    public int Top { get; set; } = 5;

    /// <summary>The Redis conversation id of a run; <see langword="null"/> skips recall for that run. Defaults to the
    /// conversation of the agent's <see cref="RedisChatHistoryProvider"/> (<see cref="RedisChatHistoryProvider.GetConversationId"/>).</summary>
    public Func<AIAgent, AgentSession?, string?>? ConversationIdSelector { get; set; }
}

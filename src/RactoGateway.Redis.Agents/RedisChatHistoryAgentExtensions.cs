using Microsoft.Agents.AI;

namespace RactoGateway.Redis.Agents;

/// <summary>Wires a <see cref="RedisChatHistoryProvider"/> into a <see cref="ChatClientAgent"/>.</summary>
public static class RedisChatHistoryAgentExtensions
{
    /// <summary>Keeps the agent's chat history in <paramref name="memory"/>: sets
    /// <see cref="ChatClientAgentOptions.ChatHistoryProvider"/> to a new <see cref="RedisChatHistoryProvider"/>.</summary>
    /// <param name="agentOptions">The agent's options, changed in place.</param>
    /// <param name="memory">The Redis memory, shared by every agent and session that uses it.</param>
    /// <param name="options">Token budget, state key and conversation id factory; optional.</param>
    /// <returns><paramref name="agentOptions"/>, for chaining into <c>chatClient.AsAIAgent(options)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="agentOptions"/> or <paramref name="memory"/> is null.</exception>
    public static ChatClientAgentOptions UseRedisChatHistory(
        this ChatClientAgentOptions agentOptions, IChatMemory memory, RedisChatHistoryProviderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(agentOptions);
        ArgumentNullException.ThrowIfNull(memory);
        agentOptions.ChatHistoryProvider = new RedisChatHistoryProvider(memory, options);
        return agentOptions;
    }
}

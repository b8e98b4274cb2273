using Microsoft.Agents.AI;

namespace RactoGateway.Redis.Agents;

/// <summary>Wires a <see cref="RedisChatHistoryProvider"/> and a <see cref="RedisRecallContextProvider"/> into a <see cref="ChatClientAgent"/>.</summary>
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

    /// <summary>Gives the agent long-term recall: adds a new <see cref="RedisRecallContextProvider"/> to
    /// <see cref="ChatClientAgentOptions.AIContextProviders"/> (after any already there). Use it together with
    /// <see cref="UseRedisChatHistory"/>, whose conversation it recalls from.</summary>
    /// <param name="agentOptions">The agent's options, changed in place.</param>
    /// <param name="recall">The recall composed into the agent's memory (<c>memory.GetRequiredService&lt;ChatMemoryRecall&gt;()</c>).</param>
    /// <param name="options">How many messages, and the conversation id; optional.</param>
    /// <param name="logger">Receives recall skipped on a server without vector sets; optional.</param>
    /// <returns><paramref name="agentOptions"/>, for chaining into <c>chatClient.AsAIAgent(options)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="agentOptions"/> or <paramref name="recall"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="RedisRecallContextProviderOptions.Top"/> is not from 1 to <see cref="ChatMemoryRecall.MaxTop"/>.</exception>
    public static ChatClientAgentOptions UseRedisRecall(
        this ChatClientAgentOptions agentOptions, ChatMemoryRecall recall, RedisRecallContextProviderOptions? options = null,
        Microsoft.Extensions.Logging.ILogger<RedisRecallContextProvider>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(agentOptions);
        ArgumentNullException.ThrowIfNull(recall);
        var provider = new RedisRecallContextProvider(recall, options, logger);
        agentOptions.AIContextProviders = [.. agentOptions.AIContextProviders ?? [], provider];
        return agentOptions;
    }
}

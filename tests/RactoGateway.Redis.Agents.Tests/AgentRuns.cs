using Microsoft.Agents.AI;

namespace RactoGateway.Redis.Agents.Tests;

/// <summary>An agent run's text, streamed or not, so that one test covers both paths.</summary>
internal static class AgentRuns
{
    public static async Task<string> RunTextAsync(this ChatClientAgent agent, string text, AgentSession session, bool streaming)
    {
        if (!streaming)
        {
            return (await agent.RunAsync(text, session)).Text;
        }

        var streamed = "";
        await foreach (var update in agent.RunStreamingAsync(text, session))
        {
            streamed += update.Text;
        }

        return streamed;
    }
}

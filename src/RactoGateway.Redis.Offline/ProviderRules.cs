using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Offline;

/// <summary>Which providers' message rules a request must satisfy.</summary>
[Flags]
public enum ProviderDialect
{
    /// <summary>OpenAI Chat Completions (always checked).</summary>
    OpenAI = 1,

    /// <summary>Anthropic Messages as well: system prompt first, user/assistant alternation, tool_result right after its tool_use.</summary>
    Anthropic = 2,
}

/// <summary>A request a provider refused, in the provider's own words (HTTP 400, <c>invalid_request_error</c>).</summary>
/// <param name="Provider">"openai" or "anthropic".</param>
/// <param name="Param">The offending parameter as the provider names it (e.g. <c>messages.[3].role</c>), when it names one.</param>
/// <param name="Message">The provider's message.</param>
public sealed record ProviderError(string Provider, string? Param, string Message)
{
    /// <summary>The HTTP status the provider answers with.</summary>
    public int Status { get; init; } = 400;

    /// <summary>The error type both providers use for a malformed request.</summary>
    public string Type { get; init; } = "invalid_request_error";

    /// <summary>The error body the provider sends (JSON).</summary>
    /// <returns>Anthropic's <c>{"type":"error","error":{...}}</c> or OpenAI's <c>{"error":{...}}</c>.</returns>
    public string ToJson() => (Provider == "anthropic"
        ? new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = Type, ["message"] = Message },
        }
        : new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = Message, ["type"] = Type, ["param"] = Param, ["code"] = null },
        }).ToJsonString();

    /// <inheritdoc />
    public override string ToString() => $"HTTP {Status} from {Provider}: {Type}: {Message}" + (Param is null ? "" : $" (param {Param})");
}

/// <summary>The exception <see cref="EchoChatClient"/> (and any strict test model) throws for a request a real
/// provider would refuse; its message is the provider's, with the offending message's index.</summary>
public sealed class ProviderRejectedException : InvalidOperationException
{
    /// <summary>Wraps <paramref name="error"/>.</summary>
    /// <param name="error">What the provider said.</param>
    /// <exception cref="ArgumentNullException"><paramref name="error"/> is null.</exception>
    public ProviderRejectedException(ProviderError error)
        : base(error?.ToString())
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>What the provider said.</summary>
    public ProviderError Error { get; }
}

/// <summary>
/// The message rules real providers enforce, checked offline on the Microsoft.Extensions.AI messages a client would
/// send: the one owner of these rules (<see cref="EchoChatClient"/> and the repository's strict test model check with it).
/// Indexes in errors count wire messages: M.E.AI's OpenAI adapter sends one <c>tool</c> message per
/// <see cref="FunctionResultContent"/>.
/// </summary>
/// <remarks>
/// Sources checked (November 2026):
/// <list type="bullet">
/// <item>OpenAI Chat Completions API reference, "Create chat completion", <c>messages</c>
/// (https://platform.openai.com/docs/api-reference/chat/create): roles system/developer/user/assistant/tool;
/// <c>content</c> required for system, user and tool messages, optional for an assistant message only when it has
/// <c>tool_calls</c>; a tool message requires <c>tool_call_id</c>. The function-calling guide
/// (https://platform.openai.com/docs/guides/function-calling?api-mode=chat) sends the tool results right after the
/// assistant message with the calls, one per call. The API answers 400 <c>invalid_request_error</c> with
/// "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
/// (param <c>messages.[i].role</c>) and "An assistant message with 'tool_calls' must be followed by tool messages
/// responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ..." (as reported
/// verbatim in, e.g., github.com/openai/openai-go/issues/43 and github.com/microsoft/promptflow/pull/3130).</item>
/// <item>Anthropic Messages API reference (https://docs.anthropic.com/en/api/messages) and the tool-use guide
/// (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use): the system prompt is the
/// top-level <c>system</c> parameter, not a message role; messages alternate user/assistant starting with user;
/// tool results are <c>tool_result</c> blocks in the user message right after the assistant's <c>tool_use</c>, one per
/// <c>tool_use</c>; text blocks must be non-empty. Its 400 messages: "messages.N: `tool_use` ids were found without
/// `tool_result` blocks immediately after: ... Each `tool_use` block must have a corresponding `tool_result` block in
/// the next message." and "unexpected `tool_use_id` found in `tool_result` blocks: ... Each `tool_result` block must
/// have a corresponding `tool_use` block in the previous message." (as reported in github.com/anthropics/claude-code
/// issues 3632 and others).</item>
/// </list>
/// </remarks>
public static class ProviderRules
{
    /// <summary>The first rule <paramref name="messages"/> breaks, or <see langword="null"/> when every provider in
    /// <paramref name="dialect"/> accepts them.</summary>
    /// <param name="messages">The request's messages, in order.</param>
    /// <param name="dialect">Whose rules to check (OpenAI's always).</param>
    /// <returns>The error the first refusing provider answers with, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    public static ProviderError? Check(IReadOnlyList<ChatMessage> messages, ProviderDialect dialect = ProviderDialect.OpenAI)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return CheckOpenAI(messages) ?? (dialect.HasFlag(ProviderDialect.Anthropic) ? CheckAnthropic(messages) : null);
    }

    private static ProviderError OpenAI(string? param, string message) => new("openai", param, message);

    private static ProviderError Anthropic(string message) => new("anthropic", null, message);

    private static ProviderError? CheckOpenAI(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0)
        {
            return OpenAI("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.");
        }

        // The calls of the last assistant message with tool_calls that still await a tool message, by id.
        Dictionary<string, int>? pending = null;
        var pendingAt = -1;
        var wire = 0;
        foreach (var message in messages)
        {
            if (message is null)
            {
                return OpenAI($"messages.[{wire}]", $"Invalid type for 'messages[{wire}]': expected an object, but got null instead.");
            }

            var role = message.Role.Value;
            if (role is not ("system" or "user" or "assistant" or "tool"))
            {
                return OpenAI($"messages.[{wire}].role",
                    $"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.");
            }

            if (role != "tool")
            {
                if (pending is { Count: > 0 })
                {
                    return Unanswered(pending, pendingAt);
                }

                pending = null;
            }

            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            var other = message.Contents.Where(c => c is not (FunctionCallContent or FunctionResultContent) && IsSent(c)).ToList();
            if (calls.Count > 0 && role != "assistant")
            {
                return OpenAI($"messages.[{wire}].tool_calls", $"Invalid parameter: only messages with role 'assistant' can have 'tool_calls' (messages[{wire}] has role '{role}').");
            }

            if (results.Count > 0 && role != "tool")
            {
                return OpenAI($"messages.[{wire}].tool_call_id", $"Invalid parameter: only messages with role 'tool' can answer a tool call (messages[{wire}] has role '{role}').");
            }

            switch (role)
            {
                case "system":
                    if (!other.OfType<TextContent>().Any())
                    {
                        return OpenAI($"messages.[{wire}].content", $"Missing required parameter: 'messages[{wire}].content'.");
                    }

                    wire++;
                    break;
                case "user":
                    if (other.Count == 0)
                    {
                        return OpenAI($"messages.[{wire}].content", $"Missing required parameter: 'messages[{wire}].content'.");
                    }

                    wire++;
                    break;
                case "assistant":
                    if (calls.Count == 0 && other.Count == 0)
                    {
                        return OpenAI($"messages.[{wire}].content", "Invalid value for 'content': expected a string, got null.");
                    }

                    if (calls.Count > 0)
                    {
                        pending = [];
                        pendingAt = wire;
                        foreach (var call in calls)
                        {
                            if (string.IsNullOrEmpty(call.CallId) || string.IsNullOrEmpty(call.Name))
                            {
                                return OpenAI($"messages.[{wire}].tool_calls", $"Missing required parameter: 'messages[{wire}].tool_calls[].id' or '.function.name'.");
                            }

                            if (!pending.TryAdd(call.CallId, wire))
                            {
                                return OpenAI($"messages.[{wire}].tool_calls", $"Invalid parameter: duplicate tool_call id '{call.CallId}' in messages[{wire}].tool_calls.");
                            }
                        }
                    }

                    wire++;
                    break;
                default: // tool
                    if (results.Count == 0)
                    {
                        return OpenAI($"messages.[{wire}].tool_call_id", $"Missing required parameter: 'messages[{wire}].tool_call_id'.");
                    }

                    foreach (var result in results)
                    {
                        if (pending is null || !pending.Remove(result.CallId ?? ""))
                        {
                            return OpenAI($"messages.[{wire}].role",
                                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
                        }

                        wire++;
                    }

                    break;
            }
        }

        return pending is { Count: > 0 } ? Unanswered(pending, pendingAt) : null;
    }

    private static ProviderError Unanswered(Dictionary<string, int> pending, int at) => OpenAI($"messages.[{at}].role",
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
        $"The following tool_call_ids did not have response messages: {string.Join(", ", pending.Keys)}");

    // Contents the adapters put on the wire (usage, reasoning and the like are not message content).
    private static bool IsSent(AIContent content) => content is TextContent or DataContent or UriContent;

    /// <summary>Anthropic's rules, on the messages as an adapter maps them: system messages become the top-level
    /// system prompt, tool messages become user messages of <c>tool_result</c> blocks (consecutive ones merged).</summary>
    private static ProviderError? CheckAnthropic(IReadOnlyList<ChatMessage> messages)
    {
        var start = 0;
        while (start < messages.Count && messages[start].Role == ChatRole.System)
        {
            start++;
        }

        // (role, tool_use ids, tool_result ids, index of the turn), after merging consecutive tool messages.
        var turns = new List<(string Role, List<string> Uses, List<string> Results)>();
        for (var i = start; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == ChatRole.System)
            {
                return Anthropic($"messages.{turns.Count}: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.");
            }

            foreach (var (text, k) in message.Contents.OfType<TextContent>().Select((t, k) => (t, k)))
            {
                if (string.IsNullOrWhiteSpace(text.Text) && message.Role != ChatRole.Tool)
                {
                    return Anthropic($"messages.{turns.Count}.content.{k}.text: text content blocks must be non-empty");
                }
            }

            if (message.Role == ChatRole.Tool)
            {
                var ids = message.Contents.OfType<FunctionResultContent>().Select(r => r.CallId).ToList();
                if (turns.Count > 0 && turns[^1] is { Role: "user", Uses.Count: 0 } previous && previous.Results.Count > 0)
                {
                    previous.Results.AddRange(ids);
                }
                else
                {
                    turns.Add(("user", [], ids));
                }
            }
            else
            {
                turns.Add((message.Role.Value, [.. message.Contents.OfType<FunctionCallContent>().Select(c => c.CallId)], []));
            }
        }

        if (turns.Count == 0)
        {
            return Anthropic("messages: at least one message is required");
        }

        if (turns[0].Role != "user")
        {
            return Anthropic("messages: first message must use the \"user\" role");
        }

        for (var n = 0; n < turns.Count; n++)
        {
            if (n > 0 && turns[n].Role == turns[n - 1].Role)
            {
                return Anthropic($"messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{turns[n].Role}\" roles in a row");
            }

            var uses = n > 0 ? turns[n - 1].Uses : [];
            var unexpected = turns[n].Results.Where(id => !uses.Contains(id)).ToList();
            if (unexpected.Count > 0)
            {
                return Anthropic($"messages.{n}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {string.Join(", ", unexpected)}. " +
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.");
            }

            var missing = turns[n].Uses.Where(id => n + 1 >= turns.Count || !turns[n + 1].Results.Contains(id)).ToList();
            if (missing.Count > 0)
            {
                return Anthropic($"messages.{n}: `tool_use` ids were found without `tool_result` blocks immediately after: {string.Join(", ", missing)}. " +
                    "Each `tool_use` block must have a corresponding `tool_result` block in the next message.");
            }
        }

        return null;
    }
}

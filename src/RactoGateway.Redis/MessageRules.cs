using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis;

/// <summary>
/// What a message must be to be stored: a known role (or a custom identifier when allowed), content present, the
/// optional fields consistent with the role, the text within <see cref="ChatMemoryConfig.MaxMessageBytes"/>. Every
/// write path (appends, import) checks through here, before any I/O; every error names the caller's parameter.
/// </summary>
internal sealed class MessageRules(ChatMemoryConfig config)
{
    private Rule[]? _rules;

    public ChatMemoryMessage Plain(string role, string content)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        ArgumentNullException.ThrowIfNull(content);
        var message = new ChatMemoryMessage(role, content);
        if (Broken(message) is { } rule)
        {
            throw new ArgumentException(rule.Api(message), rule.AboutText ? nameof(content) : nameof(role));
        }

        return message;
    }

    public ChatMemoryMessage[] Turn(ChatMemoryMessage user, ChatMemoryMessage assistant)
    {
        Checked(user, nameof(user));
        Checked(assistant, nameof(assistant));
        if (user.Role != ChatRoles.User)
        {
            throw new ArgumentException($"A turn starts with a 'user' message (was '{user.Role}').", nameof(user));
        }

        if (assistant.Role != ChatRoles.Assistant)
        {
            throw new ArgumentException($"A turn ends with an 'assistant' message (was '{assistant.Role}').", nameof(assistant));
        }

        return [user, assistant];
    }

    public ChatMemoryMessage[] Batch(IEnumerable<ChatMemoryMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var batch = messages.ToArray();
        foreach (var message in batch)
        {
            Checked(message, nameof(messages));
        }

        return batch;
    }

    /// <summary>Validates a whole message; every error names <paramref name="paramName"/>.</summary>
    public ChatMemoryMessage Checked(ChatMemoryMessage message, string paramName)
    {
        ArgumentNullException.ThrowIfNull(message, paramName);
        ArgumentNullException.ThrowIfNull(message.Role, paramName);
        if (Broken(message) is { } rule)
        {
            throw new ArgumentException(rule.Api(message), paramName);
        }

        return message;
    }

    /// <summary>The first rule <paramref name="message"/> breaks, worded in the stored JSON's field names (for an
    /// import, whose input is that JSON), or <see langword="null"/>.</summary>
    public string? WireError(ChatMemoryMessage message) => Broken(message)?.Wire(message);

    private Rule? Broken(ChatMemoryMessage message)
    {
        foreach (var rule in Rules)
        {
            if (rule.IsBroken(message))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>One rule, with its wording for code (the API's property names) and for stored JSON (its field names).</summary>
    private sealed record Rule(
        Func<ChatMemoryMessage, bool> IsBroken, Func<ChatMemoryMessage, string> Api, Func<ChatMemoryMessage, string> Wire, bool AboutText = false);

    private Rule[] Rules => _rules ??=
    [
        new(m => string.IsNullOrEmpty(m.Role), _ => "The role must not be empty.", _ => "role '' is not a role (user, assistant, system, tool, or a custom identifier)"),
        new(m => !ChatRoles.IsKnown(m.Role) && !config.AllowCustomRoles,
            m => $"Role '{m.Role}' is not one of user, assistant, system or tool; set ChatMemoryConfig.AllowCustomRoles to store other roles.",
            m => $"role '{Shown(m.Role)}' is not one of user, assistant, system or tool"),

        // Custom roles are identifiers, so that append.lua can read them without a JSON parser.
        new(m => !ChatRoles.IsKnown(m.Role) && !m.Role.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.'),
            m => $"A custom role is letters, digits, '_', '-' or '.' (was '{m.Role}').",
            m => $"role '{Shown(m.Role)}' is not a role (user, assistant, system, tool, or a custom identifier)"),
        new(m => m.Content is null, _ => "Content must not be null.", _ => "\"content\" is missing"),
        new(m => m.IsSummary, _ => "A message marked IsSummary is written by the summarizer only; append it as an ordinary system message.",
            _ => "a rolling summary is written by the summarizer only"),
        new(m => m.MessageId is "", _ => "MessageId must be null or non-empty.", _ => "\"id\" is empty"),
        new(m => m.ToolCalls is not null && m.Role != ChatRoles.Assistant,
            _ => "Only an 'assistant' message can carry ToolCalls.", _ => "only an assistant message can carry \"tool_calls\""),
        new(m => m.ToolCallId is not null && m.Role != ChatRoles.Tool,
            _ => "Only a 'tool' message can carry a ToolCallId.", _ => "only a tool message can carry \"tool_call_id\""),
        new(m => m.ToolCallId is "", _ => "ToolCallId must be null or non-empty.", _ => "\"tool_call_id\" is empty"),
        new(m => m.ToolCalls?.Any(t => t is null || string.IsNullOrEmpty(t.Id) || string.IsNullOrEmpty(t.Name) || t.Arguments is null) == true,
            _ => "Every tool call needs an Id, a Name and Arguments (JSON text).", _ => "every tool call needs an id, a name and arguments"),
        new(m => MessageCodec.TextBytes(m) > config.MaxMessageBytes,
            m => $"The message text is {MessageCodec.TextBytes(m)} UTF-8 bytes, over ChatMemoryConfig.MaxMessageBytes ({config.MaxMessageBytes}).",
            _ => $"it is over {config.MaxMessageBytes} bytes",
            AboutText: true),
    ];

    /// <summary>At most 40 characters of <paramref name="text"/>, for a message.</summary>
    public static string Shown(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

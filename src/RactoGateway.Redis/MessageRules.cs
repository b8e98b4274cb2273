using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis;

/// <summary>
/// What a message must be to be stored: a known role (or a custom identifier when allowed), content present, the
/// optional fields consistent with the role, the text within <see cref="ChatMemoryConfig.MaxMessageBytes"/>. Every
/// write path (appends, import) checks through here, before any I/O; every error names the caller's parameter.
/// </summary>
internal sealed class MessageRules(ChatMemoryConfig config)
{
    public ChatMemoryMessage Plain(string role, string content)
    {
        CheckRole(role, nameof(role));
        ArgumentNullException.ThrowIfNull(content);
        var message = new ChatMemoryMessage(role, content);
        CheckSize(message, nameof(content));
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
        CheckRole(message.Role, paramName);
        string? error = message switch
        {
            { Content: null } => "Content must not be null.",
            { MessageId: "" } => "MessageId must be null or non-empty.",
            { ToolCalls: not null, Role: not ChatRoles.Assistant } => "Only an 'assistant' message can carry ToolCalls.",
            { ToolCallId: not null, Role: not ChatRoles.Tool } => "Only a 'tool' message can carry a ToolCallId.",
            { ToolCallId: "" } => "ToolCallId must be null or non-empty.",
            _ when message.ToolCalls?.Any(c => c is null || string.IsNullOrEmpty(c.Id) || string.IsNullOrEmpty(c.Name) || c.Arguments is null) == true
                => "Every tool call needs an Id, a Name and Arguments (JSON text).",
            _ => null,
        };
        if (error is not null)
        {
            throw new ArgumentException(error, paramName);
        }

        CheckSize(message, paramName);
        return message;
    }

    private void CheckRole(string role, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(role, paramName);
        if (ChatRoles.IsKnown(role))
        {
            return;
        }

        if (!config.AllowCustomRoles)
        {
            throw new ArgumentException(
                $"Role '{role}' is not one of user, assistant, system or tool; set ChatMemoryConfig.AllowCustomRoles to store other roles.",
                paramName);
        }

        // Custom roles are identifiers, so that append.lua can read them without a JSON parser.
        if (!role.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw new ArgumentException($"A custom role is letters, digits, '_', '-' or '.' (was '{role}').", paramName);
        }
    }

    private void CheckSize(ChatMemoryMessage message, string paramName)
    {
        var bytes = MessageCodec.TextBytes(message);
        if (bytes > config.MaxMessageBytes)
        {
            throw new ArgumentException(
                $"The message text is {bytes} UTF-8 bytes, over ChatMemoryConfig.MaxMessageBytes ({config.MaxMessageBytes}).", paramName);
        }
    }
}

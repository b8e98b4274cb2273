namespace RactoGateway.Redis;

/// <summary>Writing failed during <see cref="ChatMemoryAdmin.ImportAsync"/> (Redis failed, or a conversation with a rolling
/// summary was created by someone else meanwhile): the conversations of the lines before <see cref="LineNumber"/> are
/// stored, that line's and the later ones are not.</summary>
public sealed class ChatMemoryImportException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="lineNumber">The line whose conversation failed.</param>
    /// <param name="conversationsImported">Conversations stored before it.</param>
    /// <param name="messagesStored">Messages stored before it.</param>
    /// <param name="innerException">Redis's error, or why the conversation could not be written.</param>
    public ChatMemoryImportException(long lineNumber, long conversationsImported, long messagesStored, Exception innerException)
        : base($"line {lineNumber}: writing failed ({innerException?.Message}); {conversationsImported} conversation(s) from the lines before it were imported ({messagesStored} message(s) stored), this one and those after it were not.", innerException)
    {
        LineNumber = lineNumber;
        ConversationsImported = conversationsImported;
        MessagesStored = messagesStored;
    }

    /// <summary>The line whose conversation failed.</summary>
    public long LineNumber { get; }

    /// <summary>Conversations stored before the failure.</summary>
    public long ConversationsImported { get; }

    /// <summary>Messages stored before the failure.</summary>
    public long MessagesStored { get; }
}

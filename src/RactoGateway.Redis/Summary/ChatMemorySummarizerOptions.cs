namespace RactoGateway.Redis;

/// <summary>Settings of a <see cref="ChatMemorySummarizer"/>.</summary>
public sealed class ChatMemorySummarizerOptions
{
    /// <summary>The instruction the summarizing model gets (a system message), unless an <c>IChatReducer</c> writes the
    /// summary. The messages to fold in, and the summary so far, follow it in a user message.</summary>
    public const string DefaultPrompt =
        "You keep the running summary of a conversation between a user and an assistant. You are given the summary so far "
        + "and the messages that have just left the conversation's window. Write the new summary: keep every fact, name, "
        + "number, preference, decision and open question from both; drop small talk. Write plain sentences in the third "
        + "person, no preamble. Reply with the summary only.";

    /// <summary>The instruction to the summarizing model (default <see cref="DefaultPrompt"/>, not empty).</summary>
    public string Prompt { get; set; } = DefaultPrompt;

    /// <summary>The size bound of the summary in tokens (default 1,000, at least 16): the model's
    /// <c>ChatOptions.MaxOutputTokens</c>.</summary>
    public int MaxSummaryTokens { get; set; } = 1000;

    /// <summary>Pending messages folded in one model call (default 100, between 1 and 10,000); more are folded by
    /// further calls.</summary>
    public int MaxMessagesPerCall { get; set; } = 100;

    /// <summary>Summarize inside the async append that evicted the messages, before it returns (default
    /// <see langword="false"/>: in the background). The append then waits for the model; a failure is logged and
    /// counted, never thrown, and the messages stay pending. A synchronous append never waits for a model: it starts
    /// the summarization in the background and returns.</summary>
    public bool Inline { get; set; }

    /// <summary>How long the background loop lets a conversation's evictions gather before it summarizes them (default
    /// 5 seconds, between 0 and 1 hour): one model call then folds several evicted messages instead of one each, which
    /// matters because every call sends the summary so far again (tokens) and costs the app and Redis a read and a
    /// commit. Appends never wait for it; reads leave pending messages out until they are folded in.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Conversations the background loop (<see cref="ChatMemorySummarizer.RunAsync"/>) summarizes at once
    /// (default 4, between 1 and 256).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>How often the background loop also scans every conversation for pending messages (default 5 minutes;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for only once, at start). The scan finds work that a process which died
    /// mid-summary left behind in a conversation that no longer receives appends.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A copy of <paramref name="options"/> (the defaults when null), checked: the one place invalid summarizer
    /// settings throw.</summary>
    /// <exception cref="ArgumentException">A rule is broken; the exception names <paramref name="paramName"/>.</exception>
    internal static ChatMemorySummarizerOptions ValidatedCopy(ChatMemorySummarizerOptions? options, string paramName)
    {
        var copy = options?.Clone() ?? new ChatMemorySummarizerOptions();
        return copy.GetValidationError() is { } error ? throw new ArgumentException(error, paramName) : copy;
    }

    /// <summary>Returns the first rule these settings break, or <see langword="null"/>.</summary>
    /// <returns>A message naming the property, or <see langword="null"/>.</returns>
    public string? GetValidationError() =>
        string.IsNullOrWhiteSpace(Prompt) ? "ChatMemorySummarizerOptions.Prompt must not be empty."
        : MaxSummaryTokens < 16 ? $"ChatMemorySummarizerOptions.MaxSummaryTokens must be at least 16 (was {MaxSummaryTokens})."
        : MaxMessagesPerCall is < 1 or > 10_000 ? $"ChatMemorySummarizerOptions.MaxMessagesPerCall must be between 1 and 10000 (was {MaxMessagesPerCall})."
        : Delay < TimeSpan.Zero || Delay > TimeSpan.FromHours(1) ? $"ChatMemorySummarizerOptions.Delay must be between 0 and 1 hour (was {Delay})."
        : MaxConcurrency is < 1 or > 256 ? $"ChatMemorySummarizerOptions.MaxConcurrency must be between 1 and 256 (was {MaxConcurrency})."
        : SweepInterval != Timeout.InfiniteTimeSpan && SweepInterval < TimeSpan.FromSeconds(1)
            ? $"ChatMemorySummarizerOptions.SweepInterval must be at least 1 second, or infinite (was {SweepInterval})."
        : null;

    internal ChatMemorySummarizerOptions Clone() => (ChatMemorySummarizerOptions)MemberwiseClone();
}

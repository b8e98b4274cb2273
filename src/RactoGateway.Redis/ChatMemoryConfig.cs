namespace RactoGateway.Redis;

/// <summary>
/// Settings of a <see cref="RedisChatMemory"/>: window size, expiry, key namespace and limits.
/// The defaults are ractogateway's, so a .NET and a Python service on default settings share conversations.
/// Bind it from the <c>ChatMemory</c> configuration section (see <see cref="SectionName"/>).
/// </summary>
public sealed class ChatMemoryConfig
{
    /// <summary>The configuration section <c>AddRedisChatMemory</c> binds: <c>ChatMemory</c>.</summary>
    public const string SectionName = "ChatMemory";

    /// <summary>The default key prefix, ractogateway's own: <c>ractogateway:memory</c>.</summary>
    public const string DefaultKeyPrefix = "ractogateway:memory";

    /// <summary>The largest value <see cref="MaxMessageBytes"/> accepts: Redis's 512 MiB string limit.</summary>
    public const int MaxMessageBytesLimit = 512 * 1024 * 1024;

    /// <summary>
    /// Turns kept per conversation (default 10, at least 1). The window holds <c>MaxTurns * 2</c>
    /// messages, one user and one assistant message per turn; older messages are trimmed first.
    /// </summary>
    public int MaxTurns { get; set; } = 10;

    /// <summary>
    /// How long a conversation lives after its last append (default <see langword="null"/>: never expires).
    /// When set, at least one second; every append restarts it, so the expiry slides with activity.
    /// </summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>
    /// Namespace of the Redis keys (default <see cref="DefaultKeyPrefix"/>, not empty).
    /// A conversation lives at <c>{KeyPrefix}:{conversationId}</c>.
    /// </summary>
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>
    /// The largest message content accepted, in UTF-8 bytes (default 1 MiB, between 1 and <see cref="MaxMessageBytesLimit"/>).
    /// Larger content is refused with an <see cref="ArgumentException"/> before anything is sent.
    /// </summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Accept roles other than <c>user</c>, <c>assistant</c>, <c>system</c> and <c>tool</c> (default <see langword="false"/>).
    /// Python ractogateway's <c>Message</c> accepts only system, user and assistant.
    /// </summary>
    public bool AllowCustomRoles { get; set; }

    /// <summary>How the window trims: ractogateway's rule by default; system pinning and whole tool exchanges on request.</summary>
    public ChatMemoryWindow Window { get; set; } = new();

    /// <summary>Counts tokens for <c>GetHistoryAsync(conversationId, maxTokens)</c>; <see langword="null"/> until set
    /// (the RactoGateway.Redis.Tokenizers package has one for o200k_base). Not bound from configuration.</summary>
    public IChatTokenCounter? TokenCounter { get; set; }

    /// <summary>Put the conversation id on traces (<c>ractogateway.conversation.id</c>); off by default, since ids can
    /// identify people.</summary>
    public bool IncludeConversationIdInTelemetry { get; set; }

    /// <summary>
    /// Replicas that must acknowledge each append before it returns (default 0: off). When set, every append is followed
    /// by <c>WAIT n timeout</c> on the connection to the master that stored it; if fewer replicas acknowledged within
    /// <see cref="WaitForReplicasTimeout"/>, the append throws <see cref="ChatMemoryReplicationException"/>: the message is
    /// stored on the master but may be lost if that master fails before replicating it. Redis replication is asynchronous,
    /// so without this an acknowledged append can be lost in a failover.
    /// </summary>
    public int WaitForReplicas { get; set; }

    /// <summary>
    /// How long an append waits for <see cref="WaitForReplicas"/> replicas (default 1 s, between 1 ms and 1 hour).
    /// Keep it below the connection's timeout (<c>asyncTimeout</c>/<c>syncTimeout</c>, 5 s by default).
    /// </summary>
    public TimeSpan WaitForReplicasTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest value <see cref="Connections"/> accepts.</summary>
    public const int MaxConnections = 16;

    /// <summary>
    /// Multiplexers a memory opens when it connects itself, from a URL or <c>ConfigurationOptions</c> (default 1, at most
    /// <see cref="MaxConnections"/>); calls use them in turn (round robin), and disposing the memory closes them all. One multiplexer has one socket and one
    /// reader per server, which caps it at roughly 60-70 thousand 40-message reads a second on a 2-core host; 2 lift
    /// read-heavy services when that reader is the limit (docs/performance.md has the figures). More than about 4 has
    /// measured no gain. Ignored (with a warning logged) when the memory is given an <c>IConnectionMultiplexer</c>:
    /// it then uses that one, which stays the caller's; pass a memory per multiplexer if you manage several yourself.
    /// </summary>
    public int Connections { get; set; } = 1;

    /// <summary>Sends every call with StackExchange.Redis's plain calls instead of the pooled, auto-pipelined transport
    /// (which a cluster never uses anyway). Internal: the tests run the core behaviour on both transports with it.</summary>
    internal bool PlainTransport { get; set; }

    /// <summary>
    /// Keep what leaves the window for a rolling summary (default <see langword="false"/>: what leaves the window is gone,
    /// as in ractogateway). When on, messages the window evicts stay in the conversation's list as pending, after one
    /// <c>system</c> element that holds the summary's text, until a <see cref="ChatMemorySummarizer"/> folds them into
    /// that text (docs/summary.md). Every writer of a conversation must use the same setting.
    /// </summary>
    public bool Summarize { get; set; }

    /// <summary>
    /// Store each appended message that has no <see cref="ChatMemoryMessage.Timestamp"/> with the time it was appended
    /// (UTC), on every append path (the methods, the <see cref="ChatMemoryChatClient"/> middleware, the Agent Framework
    /// provider), so that recall (the <c>search_memory</c> tool, <c>chatmem recall</c>) can say when something was said.
    /// Default <see langword="false"/>: the stored JSON then gains a <c>"timestamp"</c> field, which Python readers of the
    /// list (ractogateway returns each element's JSON as a dict) pass on to their own code. A message's own time is kept.
    /// </summary>
    public bool StampTimes { get; set; }

    /// <summary>The largest value <see cref="MaxPendingMessages"/> accepts.</summary>
    public const int MaxPendingMessagesLimit = 1_000_000;

    /// <summary>
    /// The hard cap on pending messages per conversation under <see cref="Summarize"/> (default 1,000, between 1 and
    /// <see cref="MaxPendingMessagesLimit"/>). When no summarizer keeps up (it is down, or failing), the oldest pending
    /// messages past the cap are dropped by the append that evicts more, counted in the
    /// <c>ractogateway.chat_memory.summary.dropped</c> metric and logged; appends never wait. Storage per conversation
    /// stays within <c>MaxTurns * 2 + MaxPinnedMessages + 1 + MaxPendingMessages</c> elements.
    /// </summary>
    public int MaxPendingMessages { get; set; } = 1000;

    /// <summary>The number of messages the window keeps: <c>MaxTurns * 2</c>.</summary>
    public int WindowSize => checked(MaxTurns * 2);

    /// <summary>A copy of <paramref name="config"/> (the defaults when null), checked: the one place an invalid
    /// configuration throws, before any I/O.</summary>
    /// <exception cref="ArgumentException">The configuration breaks a rule; the exception names <paramref name="paramName"/>.</exception>
    internal static ChatMemoryConfig ValidatedCopy(ChatMemoryConfig? config, string paramName)
    {
        var copy = config?.Clone() ?? new ChatMemoryConfig();
        return copy.GetValidationError() is { } error ? throw new ArgumentException(error, paramName) : copy;
    }

    /// <summary>Returns the first rule this configuration breaks, or <see langword="null"/> when it is valid.</summary>
    /// <returns>A message naming the property and the rule, or <see langword="null"/>.</returns>
    public string? GetValidationError()
    {
        if (MaxTurns < 1 || MaxTurns > int.MaxValue / 2)
        {
            return $"ChatMemoryConfig.MaxTurns must be between 1 and {int.MaxValue / 2} (was {MaxTurns}).";
        }

        if (Ttl is { } ttl && (ttl < TimeSpan.FromSeconds(1) || ttl > TimeSpan.FromDays(365 * 100)))
        {
            return $"ChatMemoryConfig.Ttl must be null or between 1 second and 100 years (was {ttl}).";
        }

        if (string.IsNullOrEmpty(KeyPrefix))
        {
            return "ChatMemoryConfig.KeyPrefix must not be empty.";
        }

        if (MaxMessageBytes < 1 || MaxMessageBytes > MaxMessageBytesLimit)
        {
            return $"ChatMemoryConfig.MaxMessageBytes must be between 1 and {MaxMessageBytesLimit} (was {MaxMessageBytes}).";
        }

        if (Window is null)
        {
            return "ChatMemoryConfig.Window must not be null.";
        }

        if (Window.MaxPinnedMessages < 1)
        {
            return $"ChatMemoryConfig.Window.MaxPinnedMessages must be at least 1 (was {Window.MaxPinnedMessages}).";
        }

        if (WaitForReplicas < 0)
        {
            return $"ChatMemoryConfig.WaitForReplicas must be 0 (off) or more (was {WaitForReplicas}).";
        }

        if (WaitForReplicasTimeout < TimeSpan.FromMilliseconds(1) || WaitForReplicasTimeout > TimeSpan.FromHours(1))
        {
            return $"ChatMemoryConfig.WaitForReplicasTimeout must be between 1 millisecond and 1 hour (was {WaitForReplicasTimeout}).";
        }

        if (MaxPendingMessages < 1 || MaxPendingMessages > MaxPendingMessagesLimit)
        {
            return $"ChatMemoryConfig.MaxPendingMessages must be between 1 and {MaxPendingMessagesLimit} (was {MaxPendingMessages}).";
        }

        if (Connections < 1 || Connections > MaxConnections)
        {
            return $"ChatMemoryConfig.Connections must be between 1 and {MaxConnections} (was {Connections}).";
        }

        return null;
    }

    /// <summary>A copy, so that later changes to the caller's object cannot change a running memory.</summary>
    internal ChatMemoryConfig Clone()
    {
        var copy = (ChatMemoryConfig)MemberwiseClone();
        copy.Window = Window is null ? null! : Window.Clone();
        return copy;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"ChatMemoryConfig(MaxTurns={MaxTurns}, Ttl={(Ttl is { } t ? t.ToString() : "none")}, KeyPrefix={KeyPrefix}, MaxMessageBytes={MaxMessageBytes}, Window={Window})";
}

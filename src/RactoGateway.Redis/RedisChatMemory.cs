using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// Shared, bounded conversation history in Redis: one Redis List per conversation at <c>{KeyPrefix}:{conversationId}</c>,
/// one JSON object <c>{"role", "content"}</c> per element, the newest <c>MaxTurns * 2</c> kept. Every replica of a
/// service, a background worker and a Python ractogateway service on the same settings see the same history.
/// </summary>
/// <remarks>
/// <para>Thread-safe; create one per application (or register it with <c>AddRedisChatMemory</c>). It keeps its
/// <see cref="IConnectionMultiplexer"/> (or, with <see cref="ChatMemoryConfig.Connections"/>, several used in turn) for
/// its whole life. Constructing one does no I/O: a memory that opens its own connections opens them on its first call.</para>
/// <para>Bad arguments throw <see cref="ArgumentException"/> (or a subclass) naming the parameter, before any network I/O.
/// When Redis cannot be reached, calls (the first one included) fail with StackExchange.Redis's <see cref="RedisConnectionException"/>, or
/// <see cref="RedisTimeoutException"/> (a <see cref="TimeoutException"/>) once the configured timeout passes; both are
/// <see cref="RedisException"/> or <see cref="TimeoutException"/>, never a hang. The same object works again on its own
/// once Redis is back.</para>
/// <para>Cancelling a token stops the wait, not the command: an append already sent may still be stored.</para>
/// </remarks>
public sealed partial class RedisChatMemory : IChatMemory, IDisposable, IAsyncDisposable
{
    private readonly ConnectionSet _connections;
    private readonly ChatMemoryConfig _config;
    private readonly ILogger _logger;
    private readonly ConversationKey _keys;
    private readonly AppendScript _append;
    private readonly MessageRules _rules;
    private volatile bool _disposed;

    /// <summary>A memory on the Redis at <paramref name="url"/>; it opens that connection (or the
    /// <see cref="ChatMemoryConfig.Connections"/> connections) on its first call, not here, and owns them until disposed.</summary>
    /// <param name="url"><c>redis://[user:password@]host[:port][/db]</c>, <c>rediss://</c> (TLS), or a StackExchange.Redis
    /// configuration string (<c>host:port,host:port,password=...</c>).</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is malformed, or <paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(string url, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ChatMemoryConfig.ValidatedCopy(config, nameof(config)), logger, RedisEndpoint.Parse(url))
    {
    }

    /// <summary>A memory that connects with <paramref name="options"/> (your own timeouts, TLS, retry settings) on its
    /// first call, and owns that connection (or the <see cref="ChatMemoryConfig.Connections"/> connections, each with a
    /// copy of the options) until disposed.</summary>
    /// <param name="options">StackExchange.Redis options; copied here, so later changes to them do not apply. Each open
    /// makes one attempt that fails at once when no server answers (<see cref="ConfigurationOptions.AbortOnConnectFail"/>,
    /// <see cref="ConfigurationOptions.ConnectRetry"/> 1 on the copy): the memory's next call opens again.</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
#pragma warning disable RS0026 // The constructors differ in their first, required parameter's type: never ambiguous.
    public RedisChatMemory(ConfigurationOptions options, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ChatMemoryConfig.ValidatedCopy(config, nameof(config)), logger, options ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>A memory whose connections <paramref name="connectionFactory"/> opens, on the memory's first call (once
    /// per <see cref="ChatMemoryConfig.Connections"/>; calls made meanwhile wait for that one open, and a failed open is
    /// tried again by the next call). The memory owns what the factory returns: disposing it closes them.</summary>
    /// <param name="connectionFactory">Opens a multiplexer, e.g. <c>async () =&gt; await ConnectionMultiplexer.ConnectAsync(options)</c>.
    /// A synchronous call that finds no connection open runs it on the thread pool and waits for it.</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connectionFactory"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(Func<Task<IConnectionMultiplexer>> connectionFactory, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ChatMemoryConfig.ValidatedCopy(config, nameof(config)), logger, connectionFactory ?? throw new ArgumentNullException(nameof(connectionFactory)))
    {
    }
#pragma warning restore RS0026

    /// <summary>Uses <paramref name="client"/>, which stays the caller's: disposing this object does not close it. Every
    /// call goes through this one multiplexer: <see cref="ChatMemoryConfig.Connections"/> is ignored (with a warning
    /// logged when it is above 1), since this object cannot open more connections like one it did not create.</summary>
    /// <param name="client">A connection shared with the rest of the application.</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(IConnectionMultiplexer client, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ChatMemoryConfig.ValidatedCopy(config, nameof(config)), logger, client ?? throw new ArgumentNullException(nameof(client)))
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, IConnectionMultiplexer client)
        : this(config, logger, ConnectionSet.Borrow(client, config.Connections, logger, !config.PlainTransport))
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, ConfigurationOptions options)
        : this(config, logger, ConnectionSet.Connect(options, config.Connections, !config.PlainTransport, logger))
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, Func<Task<IConnectionMultiplexer>> connectionFactory)
        : this(config, logger, ConnectionSet.FromFactory(connectionFactory, config.Connections, !config.PlainTransport, logger))
    {
    }

    // No I/O here: the connections open on the first call (ConnectionSet).
    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, ConnectionSet connections)
    {
        _config = config;
        _logger = logger ?? NullLogger.Instance;
        _connections = connections;
        _keys = new ConversationKey(config.KeyPrefix);
        _append = new AppendScript(config);
        _rules = new MessageRules(config);
    }

    /// <summary>The connections this object sends through, in turn; for tests.</summary>
    internal ConnectionSet Connections => _connections;

    /// <summary>The settings in force (a copy taken at construction).</summary>
    public ChatMemoryConfig Config => _config.Clone();

    /// <summary>Appends one message, trims the conversation to the window (oldest first) and restarts its expiry,
    /// atomically in one round trip.</summary>
    /// <param name="conversationId">Opaque id of the conversation, e.g. a session id; not empty or whitespace.</param>
    /// <param name="role"><c>user</c>, <c>assistant</c>, <c>system</c> or <c>tool</c> (any identifier with
    /// <see cref="ChatMemoryConfig.AllowCustomRoles"/>).</param>
    /// <param name="content">The text; empty is allowed, at most <see cref="ChatMemoryConfig.MaxMessageBytes"/> UTF-8 bytes.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the message.</returns>
    public Task AppendAsync(string conversationId, string role, string content, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        return AppendCoreAsync(conversationId, key, [_rules.Plain(role, content)], cancellationToken);
    }

    /// <summary>Appends one message with its optional fields (id, tool calls, ...), atomically in one round trip. When the
    /// message has a <see cref="ChatMemoryMessage.MessageId"/> already in the window, nothing is stored: a retry is safe.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the message.</returns>
    public Task AppendAsync(string conversationId, ChatMemoryMessage message, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        return AppendCoreAsync(conversationId, key, [_rules.Checked(message, nameof(message))], cancellationToken);
    }

    /// <summary>Appends a user message and the assistant's answer as one turn, in one round trip: no other writer can
    /// interleave between them.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="user">A message with role <c>user</c>.</param>
    /// <param name="assistant">A message with role <c>assistant</c>.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the turn.</returns>
    public Task AppendTurnAsync(string conversationId, ChatMemoryMessage user, ChatMemoryMessage assistant, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        return AppendCoreAsync(conversationId, key, _rules.Turn(user, assistant), cancellationToken);
    }

    /// <summary>Appends a turn of plain text: <paramref name="userContent"/> as <c>user</c>, then <paramref name="assistantContent"/>
    /// as <c>assistant</c>, in one round trip.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="userContent">What the user said.</param>
    /// <param name="assistantContent">What the assistant answered.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the turn.</returns>
    public Task AppendTurnAsync(string conversationId, string userContent, string assistantContent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userContent);
        ArgumentNullException.ThrowIfNull(assistantContent);
        return AppendTurnAsync(conversationId, new ChatMemoryMessage(ChatRoles.User, userContent), new ChatMemoryMessage(ChatRoles.Assistant, assistantContent), cancellationToken);
    }

    /// <summary>Appends several messages in order, in one round trip: no other writer can interleave inside the batch.
    /// Messages whose id is already in the window are skipped. An empty batch does nothing.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="messages">The messages, oldest first.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the batch.</returns>
    public Task AppendManyAsync(string conversationId, IEnumerable<ChatMemoryMessage> messages, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        var batch = _rules.Batch(messages);
        return batch.Length == 0 ? Task.CompletedTask : AppendCoreAsync(conversationId, key, batch, cancellationToken);
    }

    /// <summary>Returns the stored messages, oldest first, as they are stored (raw records: under the seed window rule the
    /// list may begin with a tool result whose call was trimmed). To send history to a model, use
    /// <see cref="GetChatMessagesAsync(string, CancellationToken)"/>, which returns a valid request. Corrupt elements are
    /// skipped (and logged once per read with their count); the valid messages around them are all returned.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages, or an empty list when the conversation does not exist or has expired.</returns>
    public async Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, CancellationToken cancellationToken = default) =>
        await ReadAsync(conversationId, KeyFor(conversationId), cancellationToken).ConfigureAwait(false);

    /// <summary>Returns the newest messages whose tokens fit <paramref name="maxTokens"/>, oldest first, dropping whole
    /// units (an assistant's tool calls with their results; with <see cref="ChatMemoryWindow.ToolCallAware"/>, whole
    /// exchanges). Pinned system messages are always returned and counted first. A budget exists to feed a model, so the
    /// result is also valid for a model request, as <see cref="GetChatMessagesAsync(string, CancellationToken)"/>
    /// describes: it never starts with, or holds, a tool result without its call, nor a call without its results.
    /// Storage stays bounded by MaxTurns.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="maxTokens">The budget, at least 0, counted by <see cref="ChatMemoryConfig.TokenCounter"/>.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages that fit.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="ChatMemoryConfig.TokenCounter"/> is set.</exception>
    public async Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, int maxTokens, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        var counter = CounterFor(maxTokens);
        var messages = await ReadAsync(conversationId, key, cancellationToken).ConfigureAwait(false);
        return ModelHistory.Filter(WindowPolicy.FitToBudget(messages, maxTokens, counter, _config.Window));
    }

    /// <summary>Returns the number of stored elements (corrupt ones included), 0 when the conversation does not exist.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The length of the conversation's list.</returns>
    public Task<long> CountAsync(string conversationId, CancellationToken cancellationToken = default) =>
        ExecuteAsync<PlainCommand<long>, long>("count", conversationId, CountCommand(KeyFor(conversationId)), cancellationToken).AsTask();

    /// <summary>Deletes the conversation (and, composed with <see cref="ChatMemoryOwners"/> or <see cref="ChatMemoryRecall"/>,
    /// its recall vectors and its entry in its owner's index, each after the list). Clearing a conversation that does
    /// not exist does nothing.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has deleted the key.</returns>
    public Task ClearAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var cleared = ExecuteAsync<PlainCommand<bool>, bool>("clear", conversationId, ClearCommand(KeyFor(conversationId)), cancellationToken).AsTask();
        return _owners is { } owners ? owners.ClearedAsync(conversationId, cleared, cancellationToken) : cleared;
    }

    /// <summary>The Redis key of a conversation: <c>{KeyPrefix}:{conversationId}</c>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <returns>The key, for tools that inspect Redis directly.</returns>
    public string GetKey(string conversationId) => (string)KeyFor(conversationId)!;

    /// <summary>Closes the connections if this object opened them; a connection passed in stays open.</summary>
    public void Dispose()
    {
        if (Detach())
        {
            _connections.Dispose();
        }
    }

    /// <inheritdoc cref="Dispose"/>
    /// <returns>A task that completes when the connections are closed.</returns>
    public ValueTask DisposeAsync() => Detach() ? _connections.DisposeAsync() : ValueTask.CompletedTask;

    /// <inheritdoc />
    public override string ToString() =>
        $"RedisChatMemory({_connections}, maxTurns={_config.MaxTurns}, ttl={(_config.Ttl is { } t ? t.TotalSeconds + "s" : "none")}, prefix={_config.KeyPrefix})";
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Diagnostics;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
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
/// its whole life.</para>
/// <para>Bad arguments throw <see cref="ArgumentException"/> (or a subclass) naming the parameter, before any network I/O.
/// When Redis cannot be reached, calls fail with StackExchange.Redis's <see cref="RedisConnectionException"/>, or
/// <see cref="RedisTimeoutException"/> (a <see cref="TimeoutException"/>) once the configured timeout passes; both are
/// <see cref="RedisException"/> or <see cref="TimeoutException"/>, never a hang. The same object works again on its own
/// once Redis is back.</para>
/// <para>Cancelling a token stops the wait, not the command: an append already sent may still be stored.</para>
/// </remarks>
public sealed partial class RedisChatMemory : IDisposable, IAsyncDisposable
{
    private readonly IConnectionMultiplexer[] _connections;
    private readonly bool _ownsConnection;
    private readonly ChatMemoryConfig _config;
    private readonly ILogger _logger;
    private readonly IDatabase[] _databases;
    private readonly string _keyPrefix;
    private readonly RedisValue _window;
    private readonly RedisValue _ttlMilliseconds;
    private readonly RedisValue _rule;
    private volatile bool _disposed;
    private uint _nextConnection;

    private const int ReplyModeUnknown = 0;
    private const int ReplyModeResp = 1;
    private const int ReplyModeClassic = 2;

    /// <summary>Per connection: <see cref="ReplyModeUnknown"/>, <see cref="ReplyModeResp"/> or <see cref="ReplyModeClassic"/> (see <see cref="UsesRespReplies"/>).</summary>
    private readonly int[] _replyModes;

    /// <summary>Connects to Redis at <paramref name="url"/> and owns that connection (or the
    /// <see cref="ChatMemoryConfig.Connections"/> connections) until disposed.</summary>
    /// <param name="url"><c>redis://[user:password@]host[:port][/db]</c>, <c>rediss://</c> (TLS), or a StackExchange.Redis
    /// configuration string (<c>host:port,host:port,password=...</c>).</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is malformed, or <paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(string url, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ValidatedConfig(config), logger, RedisEndpoint.Parse(url))
    {
    }

    /// <summary>Uses <paramref name="client"/>, which stays the caller's: disposing this object does not close it. Every
    /// call goes through this one multiplexer: <see cref="ChatMemoryConfig.Connections"/> is ignored (with a warning
    /// logged when it is above 1), since this object cannot open more connections like one it did not create.</summary>
    /// <param name="client">A connection shared with the rest of the application.</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(IConnectionMultiplexer client, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ValidatedConfig(config), logger, client ?? throw new ArgumentNullException(nameof(client)), ownsConnection: false)
    {
    }

    /// <summary>Opens <see cref="ChatMemoryConfig.Connections"/> connections with <paramref name="options"/> and owns
    /// them (the command-line tool's way in, with its own timeouts).</summary>
    internal RedisChatMemory(ConfigurationOptions options, ChatMemoryConfig? config, ILogger? logger = null)
        : this(ValidatedConfig(config), logger, options)
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, ConfigurationOptions options)
        : this(config, logger, Connect(options, config.Connections), ownsConnection: true)
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, IConnectionMultiplexer connection, bool ownsConnection)
        : this(config, logger, [connection], ownsConnection)
    {
        if (config.Connections > 1)
        {
            Log.ConnectionsIgnored(_logger, config.Connections);
        }
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, IConnectionMultiplexer[] connections, bool ownsConnection)
    {
        _config = config;
        _logger = logger ?? NullLogger.Instance;
        _connections = connections;
        _ownsConnection = ownsConnection;
        _databases = Array.ConvertAll(connections, c => c.GetDatabase());
        _replyModes = new int[connections.Length];
        _keyPrefix = config.KeyPrefix + ":";
        _window = config.WindowSize;
        _ttlMilliseconds = config.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : 0L;
        _rule = WindowPolicy.ScriptRule(config.Window);
        foreach (var connection in connections)
        {
            connection.ConnectionFailed += OnConnectionFailed;
            connection.ConnectionRestored += OnConnectionRestored;
        }
    }

    /// <summary>The multiplexers this object sends through, in turn (one unless it opened several); for tests.</summary>
    internal IReadOnlyList<IConnectionMultiplexer> Multiplexers => _connections;

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
        return AppendCoreAsync(conversationId, key, [Plain(role, content)], cancellationToken);
    }

    /// <inheritdoc cref="AppendAsync(string, string, string, CancellationToken)"/>
    public void Append(string conversationId, string role, string content)
    {
        var key = KeyFor(conversationId);
        AppendCore(conversationId, key, [Plain(role, content)]);
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
        return AppendCoreAsync(conversationId, key, [Checked(message, nameof(message))], cancellationToken);
    }

    /// <inheritdoc cref="AppendAsync(string, ChatMemoryMessage, CancellationToken)"/>
    public void Append(string conversationId, ChatMemoryMessage message)
    {
        var key = KeyFor(conversationId);
        AppendCore(conversationId, key, [Checked(message, nameof(message))]);
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
        return AppendCoreAsync(conversationId, key, Turn(user, assistant), cancellationToken);
    }

    /// <inheritdoc cref="AppendTurnAsync(string, ChatMemoryMessage, ChatMemoryMessage, CancellationToken)"/>
    public void AppendTurn(string conversationId, ChatMemoryMessage user, ChatMemoryMessage assistant)
    {
        var key = KeyFor(conversationId);
        AppendCore(conversationId, key, Turn(user, assistant));
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
        var batch = CheckedBatch(messages);
        return batch.Length == 0 ? Task.CompletedTask : AppendCoreAsync(conversationId, key, batch, cancellationToken);
    }

    /// <inheritdoc cref="AppendManyAsync(string, IEnumerable{ChatMemoryMessage}, CancellationToken)"/>
    public void AppendMany(string conversationId, IEnumerable<ChatMemoryMessage> messages)
    {
        var key = KeyFor(conversationId);
        var batch = CheckedBatch(messages);
        if (batch.Length > 0)
        {
            AppendCore(conversationId, key, batch);
        }
    }

    /// <summary>Returns the stored messages, oldest first. Corrupt elements are skipped (and logged once per read with
    /// their count); the valid messages around them are all returned.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages, or an empty list when the conversation does not exist or has expired.</returns>
    public async Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, CancellationToken cancellationToken = default) =>
        await ReadAsync(conversationId, KeyFor(conversationId), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="GetHistoryAsync(string, CancellationToken)"/>
    public IReadOnlyList<ChatMemoryMessage> GetHistory(string conversationId) => Read(conversationId, KeyFor(conversationId));

    /// <summary>Returns the newest messages whose tokens fit <paramref name="maxTokens"/>, oldest first, dropping whole
    /// units as the window does (tool calls with their results; with <see cref="ChatMemoryWindow.ToolCallAware"/>, whole
    /// exchanges). Pinned system messages are always returned and counted first. Storage stays bounded by MaxTurns.</summary>
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
        return WindowPolicy.FitToBudget(messages, maxTokens, counter, _config.Window);
    }

    /// <inheritdoc cref="GetHistoryAsync(string, int, CancellationToken)"/>
    public IReadOnlyList<ChatMemoryMessage> GetHistory(string conversationId, int maxTokens)
    {
        var key = KeyFor(conversationId);
        var counter = CounterFor(maxTokens);
        return WindowPolicy.FitToBudget(Read(conversationId, key), maxTokens, counter, _config.Window);
    }

    /// <summary>Returns the number of stored elements (corrupt ones included), 0 when the conversation does not exist.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The length of the conversation's list.</returns>
    public Task<long> CountAsync(string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("count", conversationId, (Database(), KeyFor(conversationId)), static s => s.Item1.ListLengthAsync(s.Item2), cancellationToken);

    /// <inheritdoc cref="CountAsync(string, CancellationToken)"/>
    public long Count(string conversationId) =>
        Run("count", conversationId, (Database(), KeyFor(conversationId)), static s => s.Item1.ListLength(s.Item2));

    /// <summary>Deletes the conversation. Clearing a conversation that does not exist does nothing.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has deleted the key.</returns>
    public Task ClearAsync(string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("clear", conversationId, (Database(), KeyFor(conversationId)), static s => s.Item1.KeyDeleteAsync(s.Item2), cancellationToken);

    /// <inheritdoc cref="ClearAsync(string, CancellationToken)"/>
    public void Clear(string conversationId) =>
        Run("clear", conversationId, (Database(), KeyFor(conversationId)), static s => s.Item1.KeyDelete(s.Item2));

    /// <summary>The Redis key of a conversation: <c>{KeyPrefix}:{conversationId}</c>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <returns>The key, for tools that inspect Redis directly.</returns>
    public string GetKey(string conversationId) => (string)KeyFor(conversationId)!;

    /// <summary>Closes the connection if this object opened it; a connection passed in stays open.</summary>
    public void Dispose()
    {
        if (Detach())
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }
        }
    }

    /// <inheritdoc cref="Dispose"/>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Detach())
        {
            foreach (var connection in _connections)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"RedisChatMemory(endpoints={RedisEndpoint.Describe(_connections[0].GetEndPoints())}, connections={_connections.Length}, maxTurns={_config.MaxTurns}, ttl={(_config.Ttl is { } t ? t.TotalSeconds + "s" : "none")}, prefix={_config.KeyPrefix})";

    private static ChatMemoryConfig ValidatedConfig(ChatMemoryConfig? config)
    {
        var copy = config?.Clone() ?? new ChatMemoryConfig();
        if (copy.GetValidationError() is { } error)
        {
            throw new ArgumentException(error, nameof(config));
        }

        return copy;
    }

    private async Task AppendCoreAsync(string conversationId, RedisKey key, ChatMemoryMessage[] batch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var op = Start("append", conversationId);
        try
        {
            var index = NextConnection();
            if (_config.WaitForReplicas > 0)
            {
                await AppendAndWaitForReplicasAsync(index, key, batch).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (UsesRespReplies(index))
            {
                // The common path, inline: one state machine per append (EvaluateAppendAsync does the same for the others).
                RespResult reply;
                try
                {
                    reply = await SendAppend(_databases[index], key, batch, byText: false).WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
                {
                    reply = await SendAppend(_databases[index], key, batch, byText: true).WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                reply.Dispose();
            }
            else
            {
                await EvaluateAppendAsync(index, key, batch).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            op.Complete(batch.Length);
        }
        catch (Exception ex)
        {
            op.Fail(ex);
            throw;
        }
    }

    private void AppendCore(string conversationId, RedisKey key, ChatMemoryMessage[] batch)
    {
        var op = Start("append", conversationId);
        try
        {
            EvaluateAppend(NextConnection(), key, batch);
            op.Complete(batch.Length);
        }
        catch (Exception ex)
        {
            op.Fail(ex);
            throw;
        }
    }

    /// <summary>
    /// The read core: <c>LRANGE key 0 -1</c> through <see cref="IDatabaseAsync.ExecuteRespAsync"/>, whose reply stays in
    /// StackExchange.Redis's pooled buffer, decoded from one span per element (no <see cref="RedisValue"/> or
    /// <c>byte[]</c> per element) into a list the caller owns. Routed by the key, as any keyed command (Redis Cluster).
    /// </summary>
    /// <remarks>On Redis Cluster the classic <c>ListRangeAsync</c> is used instead (see <see cref="UsesRespReplies"/>).</remarks>
    internal async Task<List<ChatMemoryMessage>> ReadAsync(string conversationId, RedisKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var index = NextConnection();
        var op = Start("get_history", conversationId);
        RespResult? reply = null;
        RedisValue[]? elements = null;
        try
        {
            if (UsesRespReplies(index))
            {
                reply = await SendRead(_databases[index], key).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                elements = await _databases[index].ListRangeAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            op.Complete(0);
        }
        catch (Exception ex)
        {
            op.Fail(ex);
            throw;
        }

        if (reply is null)
        {
            return Decode(elements!);
        }

        using (reply)
        {
            return Decode(reply);
        }
    }

    /// <inheritdoc cref="ReadAsync"/>
    internal List<ChatMemoryMessage> Read(string conversationId, RedisKey key)
    {
        var index = NextConnection();
        if (!UsesRespReplies(index))
        {
            return Decode(Run("get_history", conversationId, (_databases[index], key), static s => s.Item1.ListRange(s.Item2)));
        }

        using var reply = Run("get_history", conversationId, (_databases[index], key), static s => SendReadSync(s.Item1, s.Item2));
        return Decode(reply);
    }

    /// <summary>
    /// Whether calls on connection <paramref name="index"/> go through <see cref="IDatabaseAsync.ExecuteRespAsync"/>
    /// (pooled replies, rented arguments): yes unless it talks to a Redis Cluster. StackExchange.Redis 3.4.35 releases
    /// such a command's rendered arguments when a MOVED or ASK reply arrives and then resends it, which fails the call and
    /// poisons the connection to the new owner of the slot (every command in flight on it fails), so on a cluster, where
    /// slots move in every resharding and failover, the classic <c>ListRangeAsync</c>/<c>ScriptEvaluateAsync</c> are used.
    /// Decided on the first call made while a server is connected, then kept; until then, the classic path.
    /// </summary>
    internal bool UsesRespReplies(int index)
    {
        var mode = Volatile.Read(ref _replyModes[index]);
        if (mode == ReplyModeUnknown)
        {
            foreach (var server in _connections[index].GetServers())
            {
                if (server.IsConnected)
                {
                    mode = server.ServerType == ServerType.Cluster ? ReplyModeClassic : ReplyModeResp;
                    if (mode == ReplyModeClassic)
                    {
                        break;
                    }
                }
            }

            Volatile.Write(ref _replyModes[index], mode);
        }

        return mode == ReplyModeResp;
    }

    private static Task<RespResult> SendRead(IDatabaseAsync database, RedisKey key)
    {
        var args = LRangeArgs.Rent(key);
        try
        {
            return database.ExecuteRespAsync("LRANGE", args.Memory);
        }
        finally
        {
            args.Return();
        }
    }

    private static RespResult SendReadSync(IDatabase database, RedisKey key)
    {
        var args = LRangeArgs.Rent(key);
        try
        {
            return database.ExecuteResp("LRANGE", args.Memory);
        }
        finally
        {
            args.Return();
        }
    }

    private ChatMemoryInstruments.Operation Start(string operation, string conversationId) =>
        ChatMemoryInstruments.Start(operation, _config.KeyPrefix, _config.IncludeConversationIdInTelemetry ? conversationId : null);

    /// <summary>The database of the next connection, in turn.</summary>
    private IDatabase Database() => _databases[NextConnection()];

    private int NextConnection() =>
        _databases.Length == 1 ? 0 : (int)(Interlocked.Increment(ref _nextConnection) % (uint)_databases.Length);

    private static IConnectionMultiplexer[] Connect(ConfigurationOptions options, int count)
    {
        var connections = new IConnectionMultiplexer[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                connections[i] = ConnectionMultiplexer.Connect(i == 0 ? options : options.Clone());
            }
        }
        catch
        {
            foreach (var opened in connections)
            {
                opened?.Dispose();
            }

            throw;
        }

        return connections;
    }

    /// <summary>Runs one Redis call as one traced, timed operation. The state argument keeps the hot path free of closures.</summary>
    private async Task<T> RunAsync<TState, T>(
        string operation, string conversationId, TState state, Func<TState, Task<T>> call, CancellationToken cancellationToken, int appended = 0)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var op = ChatMemoryInstruments.Start(operation, _config.KeyPrefix, _config.IncludeConversationIdInTelemetry ? conversationId : null);
        try
        {
            var result = await call(state).WaitAsync(cancellationToken).ConfigureAwait(false);
            op.Complete(appended);
            return result;
        }
        catch (Exception ex)
        {
            op.Fail(ex);
            throw;
        }
    }

    /// <inheritdoc cref="RunAsync"/>
    private T Run<TState, T>(string operation, string conversationId, TState state, Func<TState, T> call, int appended = 0)
    {
        var op = ChatMemoryInstruments.Start(operation, _config.KeyPrefix, _config.IncludeConversationIdInTelemetry ? conversationId : null);
        try
        {
            var result = call(state);
            op.Complete(appended);
            return result;
        }
        catch (Exception ex)
        {
            op.Fail(ex);
            throw;
        }
    }

    private ChatMemoryMessage Plain(string role, string content)
    {
        CheckRole(role, nameof(role));
        ArgumentNullException.ThrowIfNull(content);
        var message = new ChatMemoryMessage(role, content);
        CheckSize(message, nameof(content));
        return message;
    }

    private ChatMemoryMessage[] Turn(ChatMemoryMessage user, ChatMemoryMessage assistant)
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

    private ChatMemoryMessage[] CheckedBatch(IEnumerable<ChatMemoryMessage> messages)
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
    private ChatMemoryMessage Checked(ChatMemoryMessage message, string paramName)
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

        if (!_config.AllowCustomRoles)
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
        if (bytes > _config.MaxMessageBytes)
        {
            throw new ArgumentException(
                $"The message text is {bytes} UTF-8 bytes, over ChatMemoryConfig.MaxMessageBytes ({_config.MaxMessageBytes}).", paramName);
        }
    }

    private IChatTokenCounter CounterFor(int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        return _config.TokenCounter ?? throw new InvalidOperationException(
            "Reading under a token budget needs ChatMemoryConfig.TokenCounter: set it, e.g. to O200kTokenCounter.Instance from the RactoGateway.Redis.Tokenizers package.");
    }

    /// <summary>Sends <c>append.lua</c> by hash; on NOSCRIPT (after a restart, a failover or SCRIPT FLUSH) sends its body
    /// once with EVAL, which caches it again.</summary>
    private async Task EvaluateAppendAsync(int index, RedisKey key, ChatMemoryMessage[] batch)
    {
        var database = _databases[index];
        if (!UsesRespReplies(index))
        {
            await database.EvaluateAsync(ChatMemoryScripts.Append, key, ScriptValues(key, batch)).ConfigureAwait(false);
            return;
        }

        try
        {
            using var reply = await SendAppend(database, key, batch, byText: false).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
        {
            using var reply = await SendAppend(database, key, batch, byText: true).ConfigureAwait(false);
        }
    }

    private void EvaluateAppendSync(int index, RedisKey key, ChatMemoryMessage[] batch)
    {
        var database = _databases[index];
        if (!UsesRespReplies(index))
        {
            database.Evaluate(ChatMemoryScripts.Append, key, ScriptValues(key, batch));
            return;
        }

        try
        {
            SendAppendSync(database, key, batch, byText: false).Dispose();
        }
        catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
        {
            SendAppendSync(database, key, batch, byText: true).Dispose();
        }
    }

    /// <summary>append.lua's ARGV for the classic <c>ScriptEvaluate</c> (a cluster), which keeps them until it writes the command.</summary>
    private RedisValue[] ScriptValues(RedisKey key, ChatMemoryMessage[] batch)
    {
        using var args = AppendArgs.Create(this, key, batch, byText: false);
        return args.ToScriptValues();
    }

    private Task<RespResult> SendAppend(IDatabaseAsync database, RedisKey key, ChatMemoryMessage[] batch, bool byText)
    {
        using var args = AppendArgs.Create(this, key, batch, byText);
        return database.ExecuteRespAsync(args.Command, args.Memory);
    }

    private RespResult SendAppendSync(IDatabase database, RedisKey key, ChatMemoryMessage[] batch, bool byText)
    {
        using var args = AppendArgs.Create(this, key, batch, byText);
        return database.ExecuteResp(args.Command, args.Memory);
    }

    /// <summary>
    /// The append, then <c>WAIT n timeout</c> (not allowed inside Lua) on the connection to the master that stored it:
    /// WAIT counts the replicas that have this connection's last write. The master is identified (an EXISTS round trip
    /// that follows MOVED) before and after the append; if the slot moved in between (a failover or resharding), nobody
    /// can vouch for the write and it counts as acknowledged by 0 replicas.
    /// </summary>
    private void EvaluateAppend(int index, RedisKey key, ChatMemoryMessage[] batch)
    {
        var database = _databases[index];
        if (_config.WaitForReplicas == 0)
        {
            EvaluateAppendSync(index, key, batch);
            return;
        }

        // WAIT is not allowed in scripts: it follows the append on the connection to the master that stored it, and
        // only counts when that master did not change in between (a failover).
        var before = database.IdentifyEndpoint(key);
        EvaluateAppendSync(index, key, batch);
        var master = database.IdentifyEndpoint(key);
        ThrowIfUnreplicated(master is not null && master.Equals(before) ? (long)_connections[index].GetServer(master).Execute("WAIT", _config.WaitForReplicas, WaitMilliseconds) : 0);
    }

    private async Task AppendAndWaitForReplicasAsync(int index, RedisKey key, ChatMemoryMessage[] batch)
    {
        var database = _databases[index];
        var before = await database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        await EvaluateAppendAsync(index, key, batch).ConfigureAwait(false);
        var master = await database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)await _connections[index].GetServer(master).ExecuteAsync("WAIT", _config.WaitForReplicas, WaitMilliseconds).ConfigureAwait(false)
            : 0);
    }

    private long WaitMilliseconds => (long)Math.Ceiling(_config.WaitForReplicasTimeout.TotalMilliseconds);

    private void ThrowIfUnreplicated(long acknowledged)
    {
        if (acknowledged < _config.WaitForReplicas)
        {
            throw new ChatMemoryReplicationException(_config.WaitForReplicas, acknowledged);
        }
    }

    private RedisKey KeyFor(string conversationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new RedisKey(_keyPrefix + conversationId);
    }

    private List<ChatMemoryMessage> Decode(RedisValue[] elements)
    {
        var messages = MessageCodec.DecodeAll(elements, out var skipped);
        ChatMemoryInstruments.RecordRead(messages.Count, skipped);
        if (skipped > 0)
        {
            Log.CorruptElementsSkipped(_logger, skipped, elements.Length);
        }

        return messages;
    }

    private List<ChatMemoryMessage> Decode(RespResult reply)
    {
        var messages = MessageCodec.DecodeAll(reply, out var skipped, out var elements);
        ChatMemoryInstruments.RecordRead(messages.Count, skipped);
        if (skipped > 0)
        {
            Log.CorruptElementsSkipped(_logger, skipped, elements);
        }

        return messages;
    }

    private bool Detach()
    {
        if (_disposed)
        {
            return false;
        }

        _disposed = true;
        foreach (var connection in _connections)
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
        }

        return _ownsConnection;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        Log.ConnectionFailed(_logger, e.EndPoint is null ? "?" : RedisEndpoint.Describe(e.EndPoint), e.FailureType, e.Exception);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) =>
        Log.ConnectionRestored(_logger, e.EndPoint is null ? "?" : RedisEndpoint.Describe(e.EndPoint));
}

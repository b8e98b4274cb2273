using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RactoGateway.Redis.Connection;
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
/// <para>Thread-safe; create one per application (or register it with <c>AddRedisChatMemory</c>). It keeps one
/// <see cref="IConnectionMultiplexer"/> for its whole life.</para>
/// <para>Bad arguments throw <see cref="ArgumentException"/> (or a subclass) naming the parameter, before any network I/O.
/// When Redis cannot be reached, calls fail with StackExchange.Redis's <see cref="RedisConnectionException"/>, or
/// <see cref="RedisTimeoutException"/> (a <see cref="TimeoutException"/>) once the configured timeout passes; both are
/// <see cref="RedisException"/> or <see cref="TimeoutException"/>, never a hang. The same object works again on its own
/// once Redis is back.</para>
/// <para>Cancelling a token stops the wait, not the command: an append already sent may still be stored.</para>
/// </remarks>
public sealed partial class RedisChatMemory : IDisposable, IAsyncDisposable
{
    private readonly IConnectionMultiplexer _connection;
    private readonly bool _ownsConnection;
    private readonly ChatMemoryConfig _config;
    private readonly ILogger _logger;
    private readonly IDatabase _database;
    private readonly string _keyPrefix;
    private readonly RedisValue _window;
    private readonly RedisValue _ttlMilliseconds;
    private volatile bool _disposed;

    /// <summary>Connects to Redis at <paramref name="url"/> and owns that connection until disposed.</summary>
    /// <param name="url"><c>redis://[user:password@]host[:port][/db]</c>, <c>rediss://</c> (TLS), or a StackExchange.Redis
    /// configuration string (<c>host:port,host:port,password=...</c>).</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is malformed, or <paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(string url, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ValidatedConfig(config), logger, RedisEndpoint.Parse(url))
    {
    }

    /// <summary>Uses <paramref name="client"/>, which stays the caller's: disposing this object does not close it.</summary>
    /// <param name="client">A connection shared with the rest of the application.</param>
    /// <param name="config">Window, expiry and key settings; <see langword="null"/> for ractogateway's defaults.</param>
    /// <param name="logger">Receives warnings about skipped corrupt elements and lost connections.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
    public RedisChatMemory(IConnectionMultiplexer client, ChatMemoryConfig? config = null, ILogger<RedisChatMemory>? logger = null)
        : this(ValidatedConfig(config), logger, client ?? throw new ArgumentNullException(nameof(client)), ownsConnection: false)
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, ConfigurationOptions options)
        : this(config, logger, ConnectionMultiplexer.Connect(options), ownsConnection: true)
    {
    }

    private RedisChatMemory(ChatMemoryConfig config, ILogger? logger, IConnectionMultiplexer connection, bool ownsConnection)
    {
        _config = config;
        _logger = logger ?? NullLogger.Instance;
        _connection = connection;
        _ownsConnection = ownsConnection;
        _database = connection.GetDatabase();
        _keyPrefix = config.KeyPrefix + ":";
        _window = config.WindowSize;
        _ttlMilliseconds = config.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : 0L;
        _connection.ConnectionFailed += OnConnectionFailed;
        _connection.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>The settings in force (a copy taken at construction).</summary>
    public ChatMemoryConfig Config => _config.Clone();

    /// <summary>Appends one message, trims the conversation to the window (oldest first) and restarts its expiry,
    /// atomically in one round trip.</summary>
    /// <param name="conversationId">Opaque id of the conversation, e.g. a session id; not empty or whitespace.</param>
    /// <param name="role"><c>user</c>, <c>assistant</c>, <c>system</c> or <c>tool</c> (any non-empty role with
    /// <see cref="ChatMemoryConfig.AllowCustomRoles"/>).</param>
    /// <param name="content">The text; empty is allowed, at most <see cref="ChatMemoryConfig.MaxMessageBytes"/> UTF-8 bytes.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has stored the message.</returns>
    public Task AppendAsync(string conversationId, string role, string content, CancellationToken cancellationToken = default)
    {
        var (key, args) = PrepareAppend(conversationId, role, content);
        cancellationToken.ThrowIfCancellationRequested();
        return _config.WaitForReplicas > 0
            ? AppendAndWaitForReplicasAsync(key, args).WaitAsync(cancellationToken)
            : _database.ScriptEvaluateAsync(ChatMemoryScripts.Append, [key], args).WaitAsync(cancellationToken);
    }

    /// <inheritdoc cref="AppendAsync(string, string, string, CancellationToken)"/>
    public void Append(string conversationId, string role, string content)
    {
        var (key, args) = PrepareAppend(conversationId, role, content);
        if (_config.WaitForReplicas > 0)
        {
            AppendAndWaitForReplicasAsync(key, args).GetAwaiter().GetResult();
            return;
        }

        _database.ScriptEvaluate(ChatMemoryScripts.Append, [key], args);
    }

    /// <summary>Returns the stored messages, oldest first. Corrupt elements are skipped (and logged once per read with
    /// their count); the valid messages around them are all returned.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The messages, or an empty list when the conversation does not exist or has expired.</returns>
    public async Task<IReadOnlyList<ChatMemoryMessage>> GetHistoryAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        cancellationToken.ThrowIfCancellationRequested();
        var elements = await _database.ListRangeAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false);
        return Decode(key, elements);
    }

    /// <inheritdoc cref="GetHistoryAsync(string, CancellationToken)"/>
    public IReadOnlyList<ChatMemoryMessage> GetHistory(string conversationId)
    {
        var key = KeyFor(conversationId);
        return Decode(key, _database.ListRange(key));
    }

    /// <summary>Returns the number of stored elements (corrupt ones included), 0 when the conversation does not exist.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>The length of the conversation's list.</returns>
    public Task<long> CountAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        cancellationToken.ThrowIfCancellationRequested();
        return _database.ListLengthAsync(key).WaitAsync(cancellationToken);
    }

    /// <inheritdoc cref="CountAsync(string, CancellationToken)"/>
    public long Count(string conversationId) => _database.ListLength(KeyFor(conversationId));

    /// <summary>Deletes the conversation. Clearing a conversation that does not exist does nothing.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <param name="cancellationToken">Stops the wait for Redis's answer.</param>
    /// <returns>A task that completes when Redis has deleted the key.</returns>
    public Task ClearAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var key = KeyFor(conversationId);
        cancellationToken.ThrowIfCancellationRequested();
        return _database.KeyDeleteAsync(key).WaitAsync(cancellationToken);
    }

    /// <inheritdoc cref="ClearAsync(string, CancellationToken)"/>
    public void Clear(string conversationId) => _database.KeyDelete(KeyFor(conversationId));

    /// <summary>The Redis key of a conversation: <c>{KeyPrefix}:{conversationId}</c>.</summary>
    /// <param name="conversationId">Opaque id of the conversation.</param>
    /// <returns>The key, for tools that inspect Redis directly.</returns>
    public string GetKey(string conversationId) => (string)KeyFor(conversationId)!;

    /// <summary>Closes the connection if this object opened it; a connection passed in stays open.</summary>
    public void Dispose()
    {
        if (Detach())
        {
            _connection.Dispose();
        }
    }

    /// <inheritdoc cref="Dispose"/>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Detach())
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"RedisChatMemory(endpoints={RedisEndpoint.Describe(_connection.GetEndPoints())}, maxTurns={_config.MaxTurns}, ttl={(_config.Ttl is { } t ? t.TotalSeconds + "s" : "none")}, prefix={_config.KeyPrefix})";

    private static ChatMemoryConfig ValidatedConfig(ChatMemoryConfig? config)
    {
        var copy = config?.Clone() ?? new ChatMemoryConfig();
        if (copy.GetValidationError() is { } error)
        {
            throw new ArgumentException(error, nameof(config));
        }

        return copy;
    }

    /// <summary>Validates and encodes before any I/O, so that bad input never reaches Redis.</summary>
    private (RedisKey Key, RedisValue[] Args) PrepareAppend(string conversationId, string role, string content)
    {
        var key = KeyFor(conversationId);
        ArgumentException.ThrowIfNullOrEmpty(role);
        ArgumentNullException.ThrowIfNull(content);
        if (!_config.AllowCustomRoles && !ChatRoles.IsKnown(role))
        {
            throw new ArgumentException(
                $"Role '{role}' is not one of user, assistant, system or tool; set ChatMemoryConfig.AllowCustomRoles to store other roles.",
                nameof(role));
        }

        // UTF-8 needs at most 3 bytes per UTF-16 char, so short content skips the exact count.
        if ((long)content.Length * 3 > _config.MaxMessageBytes && Encoding.UTF8.GetByteCount(content) > _config.MaxMessageBytes)
        {
            throw new ArgumentException(
                $"Content is {Encoding.UTF8.GetByteCount(content)} UTF-8 bytes, over ChatMemoryConfig.MaxMessageBytes ({_config.MaxMessageBytes}).",
                nameof(content));
        }

        return (key, [_window, _ttlMilliseconds, MessageCodec.Encode(role, content)]);
    }

    /// <summary>
    /// The append, then <c>WAIT n timeout</c> (not allowed inside Lua) on the connection to the master that stored it:
    /// WAIT counts the replicas that have this connection's last write. The master is identified (an EXISTS round trip
    /// that follows MOVED) before and after the append; if the slot moved in between (a failover or resharding), nobody
    /// can vouch for the write and it counts as acknowledged by 0 replicas.
    /// </summary>
    private async Task AppendAndWaitForReplicasAsync(RedisKey key, RedisValue[] args)
    {
        var before = await _database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        await _database.ScriptEvaluateAsync(ChatMemoryScripts.Append, [key], args).ConfigureAwait(false);
        var master = await _database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        var acknowledged = 0L;
        if (master is not null && master.Equals(before))
        {
            var timeoutMs = (long)Math.Ceiling(_config.WaitForReplicasTimeout.TotalMilliseconds);
            acknowledged = (long)await _connection.GetServer(master).ExecuteAsync("WAIT", _config.WaitForReplicas, timeoutMs).ConfigureAwait(false);
        }

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

    private List<ChatMemoryMessage> Decode(RedisKey key, RedisValue[] elements)
    {
        var messages = MessageCodec.DecodeAll(elements, out var skipped);
        if (skipped > 0)
        {
            Log.CorruptElementsSkipped(_logger, skipped, elements.Length, key.ToString());
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
        _connection.ConnectionFailed -= OnConnectionFailed;
        _connection.ConnectionRestored -= OnConnectionRestored;
        return _ownsConnection;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        Log.ConnectionFailed(_logger, e.EndPoint is null ? "?" : RedisEndpoint.Describe(e.EndPoint), e.FailureType, e.Exception);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) =>
        Log.ConnectionRestored(_logger, e.EndPoint is null ? "?" : RedisEndpoint.Describe(e.EndPoint));
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// The multiplexers a memory sends through, in turn: the <see cref="ChatMemoryConfig.Connections"/> it opened itself
/// (their events logged, all closed on dispose), or the one it was given (left to its owner, who logs it).
/// </summary>
internal sealed partial class ConnectionSet : IDisposable, IAsyncDisposable
{
    private readonly ChatConnection[] _connections;
    private readonly ConnectionEventLog[] _events;
    private readonly bool _owned;
    private uint _next;

    private ConnectionSet(IConnectionMultiplexer[] multiplexers, bool owned, ILogger logger)
    {
        _connections = Array.ConvertAll(multiplexers, m => new ChatConnection(m));
        _owned = owned;
        _events = owned ? Array.ConvertAll(multiplexers, m => new ConnectionEventLog(m, logger)) : [];
    }

    /// <summary>Every connection, in the order they are used.</summary>
    public IReadOnlyList<ChatConnection> All => _connections;

    /// <summary>Every multiplexer, in the order they are used.</summary>
    public IReadOnlyList<IConnectionMultiplexer> Multiplexers => Array.ConvertAll(_connections, c => c.Multiplexer);

    /// <summary>Opens <paramref name="count"/> multiplexers with <paramref name="options"/>; if one fails, closes those
    /// already open.</summary>
    public static ConnectionSet Connect(ConfigurationOptions options, int count, ILogger? logger)
    {
        var multiplexers = new IConnectionMultiplexer[count];
        if (options.ResponseBufferPool is null)
        {
            // A copy: the caller's options are theirs.
            options = options.Clone();
            options.ResponseBufferPool = ChatMemoryReplyBufferPool.Instance;
        }

        try
        {
            for (var i = 0; i < count; i++)
            {
                multiplexers[i] = ConnectionMultiplexer.Connect(i == 0 ? options : options.Clone());
            }
        }
        catch
        {
            foreach (var opened in multiplexers)
            {
                opened?.Dispose();
            }

            throw;
        }

        return new ConnectionSet(multiplexers, owned: true, logger ?? NullLogger.Instance);
    }

    /// <summary>Uses <paramref name="multiplexer"/> alone: more like it cannot be opened by someone who did not create it.</summary>
    public static ConnectionSet Borrow(IConnectionMultiplexer multiplexer, int configuredCount, ILogger? logger)
    {
        if (configuredCount > 1)
        {
            ConnectionsIgnored(logger ?? NullLogger.Instance, configuredCount);
        }

        return new ConnectionSet([multiplexer], owned: false, NullLogger.Instance);
    }

    /// <summary>The connection for the next call (round robin).</summary>
    public ChatConnection Next() =>
        _connections.Length == 1 ? _connections[0] : _connections[(int)(Interlocked.Increment(ref _next) % (uint)_connections.Length)];

    public override string ToString() => $"endpoints={RedisEndpoint.Describe(_connections[0].Multiplexer.GetEndPoints())}, connections={_connections.Length}";

    public void Dispose()
    {
        foreach (var connection in Release())
        {
            connection.Multiplexer.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in Release())
        {
            await connection.Multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops logging; returns the connections to close (none when borrowed).</summary>
    private ChatConnection[] Release()
    {
        foreach (var events in _events)
        {
            events.Dispose();
        }

        return _owned ? _connections : [];
    }

    [LoggerMessage(4, LogLevel.Warning, "ChatMemoryConfig.Connections is {Connections}, but a multiplexer was passed in: every call uses that one multiplexer (Connections applies only when the memory opens its own connections)", EventName = "ConnectionsIgnored")]
    private static partial void ConnectionsIgnored(ILogger logger, int connections);
}

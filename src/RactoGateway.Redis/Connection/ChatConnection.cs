using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>One multiplexer a memory sends through, its database, and how its replies are read.</summary>
internal sealed class ChatConnection(IConnectionMultiplexer multiplexer)
{
    private const int Unknown = 0;
    private const int Resp = 1;
    private const int Classic = 2;

    private int _replyMode;

    public IConnectionMultiplexer Multiplexer { get; } = multiplexer;

    public IDatabase Database { get; } = multiplexer.GetDatabase();

    /// <summary>Where the pooled reads and appends go when <see cref="UsesRespReplies"/>: written together when issued together.</summary>
    public AutoPipeline Pipeline { get; } = new(multiplexer.GetDatabase());

    /// <summary>
    /// StackExchange.Redis's failure as the memory documents it: while a connection attempt fails (a server that is down,
    /// under load), a call can meet the half-made socket being finalized and get an <see cref="ObjectDisposedException"/>
    /// naming "Connection is being finalized". That is a lost connection, not a disposed memory, so it becomes a
    /// <see cref="RedisConnectionException"/> (with the original inside); anything else is returned as it is.
    /// </summary>
    public static Exception AsDocumented(Exception error) =>
        error is ObjectDisposedException { ObjectName: "Connection is being finalized" }
            ? new RedisConnectionException(ConnectionFailureType.SocketClosed, CommandFlags.None, "The connection to Redis was lost while it was being made.", error, CommandStatus.Unknown)
            : error;

    /// <summary>
    /// Whether calls go through <see cref="IDatabaseAsync.ExecuteRespAsync"/> (pooled replies, rented arguments): yes
    /// unless this multiplexer talks to a Redis Cluster. StackExchange.Redis 3.4.35 releases such a command's rendered
    /// arguments when a MOVED or ASK reply arrives and then resends it, which fails the call and poisons the connection
    /// to the slot's new owner; slots move in every resharding and failover, so a cluster gets the classic
    /// <c>ListRangeAsync</c>/<c>ScriptEvaluateAsync</c>. Decided on the first call made while a server is connected,
    /// then kept; until then, the classic path.
    /// </summary>
    public bool UsesRespReplies
    {
        get
        {
            var mode = Volatile.Read(ref _replyMode);
            if (mode == Unknown)
            {
                foreach (var server in Multiplexer.GetServers())
                {
                    if (server.IsConnected)
                    {
                        mode = server.ServerType == ServerType.Cluster ? Classic : Resp;
                        if (mode == Classic)
                        {
                            break;
                        }
                    }
                }

                Volatile.Write(ref _replyMode, mode);
            }

            return mode == Resp;
        }
    }
}

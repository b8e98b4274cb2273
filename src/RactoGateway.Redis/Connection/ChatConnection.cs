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

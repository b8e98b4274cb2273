using System.Runtime.CompilerServices;
using RactoGateway.Redis.Scripts;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// One multiplexer a memory sends through, and the seam between the memory's commands and the wire: every
/// <see cref="IChatCommand{T}"/> runs here, on one of two transports. The pooled one (standalone servers, unless
/// switched off): rented arguments, replies read from pooled buffers, calls in flight together written as one batch
/// (<see cref="AutoPipeline"/>). The plain one (a cluster, or <c>pipelined: false</c>): StackExchange.Redis's own
/// calls. WAIT, when replicas must acknowledge a write, follows the command on either.
/// </summary>
internal sealed class ChatConnection
{
    private const int Unknown = 0;
    private const int Resp = 1;
    private const int Classic = 2;

    private readonly AutoPipeline? _pipeline;
    private int _replyMode;

    /// <param name="multiplexer">The connection.</param>
    /// <param name="pipelined">Whether the pooled transport may be used (on a standalone server); false for the plain one always.</param>
    public ChatConnection(IConnectionMultiplexer multiplexer, bool pipelined = true)
    {
        Multiplexer = multiplexer;
        Database = multiplexer.GetDatabase();
        if (pipelined)
        {
            _pipeline = new AutoPipeline(Database);
        }
        else
        {
            _replyMode = Classic;
        }
    }

    public IConnectionMultiplexer Multiplexer { get; }

    public IDatabase Database { get; }

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
    /// Whether the pooled transport is used (<see cref="IDatabaseAsync.ExecuteRespAsync"/>: pooled replies, rented
    /// arguments): yes unless switched off or this multiplexer talks to a Redis Cluster. StackExchange.Redis 3.4.35
    /// releases such a command's rendered arguments when a MOVED or ASK reply arrives and then resends it, which fails
    /// the call and poisons the connection to the slot's new owner; slots move in every resharding and failover, so a
    /// cluster gets the plain transport. Decided on the first call made while a server is connected, then kept; until
    /// then, the plain transport.
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

    /// <summary>Runs <paramref name="command"/>, then WAIT when replicas must acknowledge it.</summary>
    public ValueTask<T> RunAsync<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        command.Replicas.Replicas == 0 ? SendAsync<TCommand, T>(command) : new(WaitedAsync<TCommand, T>(command));

    /// <inheritdoc cref="RunAsync"/>
    public T Run<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        command.Replicas.Replicas == 0 ? Send<TCommand, T>(command) : Waited<TCommand, T>(command);

    private ValueTask<T> SendAsync<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        command.Pooled && UsesRespReplies ? SendPooledAsync<TCommand, T>(command) : new(command.SendAsync(Database));

    private T Send<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        command.Pooled && UsesRespReplies ? SendPooled<TCommand, T>(command) : command.Send(Database);

    // A pooled builder: the operation's only other asynchronous steps are the telemetry wrapper's and the pipeline's.
    // A script named by hash is sent once more by body when the server answers NOSCRIPT (restart, failover, SCRIPT FLUSH).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> SendPooledAsync<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T>
    {
        try
        {
            return command.Read(await IssueAsync<TCommand, T>(command, byText: false).ConfigureAwait(false));
        }
        catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
        {
            return command.Read(await IssueAsync<TCommand, T>(command, byText: true).ConfigureAwait(false));
        }
    }

    private T SendPooled<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T>
    {
        try
        {
            return command.Read(Issue<TCommand, T>(command, byText: false));
        }
        catch (RedisServerException ex) when (ChatMemoryScripts.IsNoScript(ex))
        {
            return command.Read(Issue<TCommand, T>(command, byText: true));
        }
    }

    private ValueTask<RespResult> IssueAsync<TCommand, T>(TCommand command, bool byText)
        where TCommand : struct, IChatCommand<T>
    {
        using var request = command.Render(byText);
        return _pipeline!.ExecuteRespAsync(request.Command, request.Memory);
    }

    private RespResult Issue<TCommand, T>(TCommand command, bool byText)
        where TCommand : struct, IChatCommand<T>
    {
        using var request = command.Render(byText);
        return Database.ExecuteResp(request.Command, request.Memory);
    }

    // WAIT is not allowed inside a script: it follows the write on the connection to the master that stored it, and
    // counts the replicas that have that connection's last write. The master is identified (an EXISTS that follows
    // MOVED) before and after; if the slot moved in between (a failover, a resharding), nobody can vouch for the write
    // and it counts as acknowledged by none.
    private async Task<T> WaitedAsync<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T>
    {
        var before = await Database.IdentifyEndpointAsync(command.Key).ConfigureAwait(false);
        var result = await SendAsync<TCommand, T>(command).ConfigureAwait(false);
        var master = await Database.IdentifyEndpointAsync(command.Key).ConfigureAwait(false);
        ThrowIfUnreplicated(command.Replicas, master is not null && master.Equals(before)
            ? (long)await Multiplexer.GetServer(master).ExecuteAsync("WAIT", command.Replicas.Replicas, command.Replicas.TimeoutMilliseconds).ConfigureAwait(false)
            : 0);
        return result;
    }

    private T Waited<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T>
    {
        var before = Database.IdentifyEndpoint(command.Key);
        var result = Send<TCommand, T>(command);
        var master = Database.IdentifyEndpoint(command.Key);
        ThrowIfUnreplicated(command.Replicas, master is not null && master.Equals(before)
            ? (long)Multiplexer.GetServer(master).Execute("WAIT", command.Replicas.Replicas, command.Replicas.TimeoutMilliseconds)
            : 0);
        return result;
    }

    private static void ThrowIfUnreplicated(ReplicaWait wait, long acknowledged)
    {
        if (acknowledged < wait.Replicas)
        {
            throw new ChatMemoryReplicationException(wait.Replicas, acknowledged);
        }
    }
}

using System.Buffers.Text;
using System.Runtime.CompilerServices;
using RESPite.Messages;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// How <c>append.lua</c> and <c>restore.lua</c> are run: the arguments come from <see cref="AppendArguments"/>, the reply
/// is read by <see cref="AppendOutcome"/>, and a <c>WAIT</c> follows when replicas must acknowledge. Appends, imports and
/// trims all run through here. It holds no connection: each call is given the one to use.
/// </summary>
/// <remarks>The memory's appends (<see cref="AppendAsync"/>) send <c>EVALSHA</c> through
/// <see cref="IDatabaseAsync.ExecuteRespAsync"/> with pooled arguments (<see cref="AppendArguments.Pooled"/>), except on a
/// cluster (see <see cref="ChatConnection.UsesRespReplies"/>); <see cref="RunAsync"/> is the plain path for everything else.</remarks>
internal sealed class AppendScript
{
    private readonly int _waitForReplicas;
    private readonly long _waitMilliseconds;

    public AppendScript(ChatMemoryConfig config)
    {
        Arguments = new AppendArguments(config);
        _waitForReplicas = config.WaitForReplicas;
        _waitMilliseconds = (long)Math.Ceiling(config.WaitForReplicasTimeout.TotalMilliseconds);
    }

    /// <summary>The writer of this configuration's arguments.</summary>
    public AppendArguments Arguments { get; }

    /// <summary>Runs append.lua with <paramref name="args"/> (from <see cref="Arguments"/>) on <paramref name="key"/>, then
    /// WAIT when replicas must acknowledge it.</summary>
    public Task<AppendOutcome> RunAsync(IConnectionMultiplexer connection, RedisKey key, RedisValue[] args) =>
        Replicated(connection, key, (connection.GetDatabase(), key, args),
            static async s => AppendOutcome.From(await s.Item1.EvaluateAsync(ChatMemoryScripts.Append, s.key, s.args).ConfigureAwait(false)));

    /// <summary>Runs restore.lua: <paramref name="elements"/> stored as they are (see <see cref="AppendArguments.Restore"/>).</summary>
    /// <returns>The elements stored, or -1 when the conversation exists and <paramref name="replace"/> is false (nothing written).</returns>
    public Task<long> RestoreAsync(
        IConnectionMultiplexer connection, RedisKey key, IReadOnlyList<(ReadOnlyMemory<byte> Element, string? MessageId)> elements, long ttlMilliseconds, bool replace) =>
        Replicated(connection, key, (connection.GetDatabase(), key, AppendArguments.Restore(elements, ttlMilliseconds, replace)),
            static async s => (long)await s.Item1.EvaluateAsync(ChatMemoryScripts.Restore, s.key, s.Item3).ConfigureAwait(false));

    /// <summary>The memory's append of <paramref name="messages"/> on <paramref name="connection"/>: pooled
    /// <c>EVALSHA</c> (the body once on NOSCRIPT), the classic call on a cluster, then WAIT when replicas must acknowledge.</summary>
    /// <returns>The messages stored (duplicates by id are not), and under a rolling summary the pending count.</returns>
    /// <remarks>The replicated path is a method of its own: its closure would otherwise be allocated on every call.</remarks>
    public ValueTask<AppendOutcome> AppendAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        _waitForReplicas == 0 ? SendAsync(connection, key, messages) : new(AppendWaitedAsync(connection, key, messages));

    /// <inheritdoc cref="AppendAsync"/>
    public AppendOutcome Append(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        _waitForReplicas == 0 ? Send(connection, key, messages) : AppendWaited(connection, key, messages);

    private Task<T> Replicated<TState, T>(IConnectionMultiplexer connection, RedisKey key, TState state, Func<TState, Task<T>> run) =>
        _waitForReplicas == 0 ? run(state) : WaitedAsync(connection, connection.GetDatabase(), key, () => run(state));

    private Task<AppendOutcome> AppendWaitedAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        WaitedAsync(connection.Multiplexer, connection.Database, key, () => SendAsync(connection, key, messages).AsTask());

    private AppendOutcome AppendWaited(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        Waited(connection.Multiplexer, connection.Database, key, () => Send(connection, key, messages));

    private ValueTask<AppendOutcome> SendAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages)
    {
        if (!connection.UsesRespReplies)
        {
            return new(Classic(connection.Database.EvaluateAsync(ChatMemoryScripts.Append, key, Arguments.Append(messages))));
        }

        return ChatMemoryScripts.ByHashAsync((this, connection.Pipeline, key, messages), static (s, byText) =>
        {
            using var args = AppendArguments.Pooled.Create(s.Item1.Arguments, s.key, s.messages, byText);
            return AppendOutcome.From(s.Item2.ExecuteRespAsync(args.Command, args.Memory));
        });

        static async Task<AppendOutcome> Classic(Task<RedisResult> reply) => AppendOutcome.From(await reply.ConfigureAwait(false));
    }

    private AppendOutcome Send(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages)
    {
        if (!connection.UsesRespReplies)
        {
            return AppendOutcome.From(connection.Database.Evaluate(ChatMemoryScripts.Append, key, Arguments.Append(messages)));
        }

        return ChatMemoryScripts.ByHash((this, connection.Database, key, messages), static (s, byText) =>
        {
            using var args = AppendArguments.Pooled.Create(s.Item1.Arguments, s.key, s.messages, byText);
            return AppendOutcome.From(s.Item2.ExecuteResp(args.Command, args.Memory));
        });
    }

    // WAIT is not allowed inside a script: it follows the append on the connection to the master that stored it, and
    // counts the replicas that have that connection's last write. The master is identified (an EXISTS that follows
    // MOVED) before and after; if the slot moved in between (a failover, a resharding), nobody can vouch for the write
    // and it counts as acknowledged by none.
    private async Task<T> WaitedAsync<T>(IConnectionMultiplexer connection, IDatabase database, RedisKey key, Func<Task<T>> append)
    {
        var before = await database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        var stored = await append().ConfigureAwait(false);
        var master = await database.IdentifyEndpointAsync(key).ConfigureAwait(false);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)await connection.GetServer(master).ExecuteAsync("WAIT", _waitForReplicas, _waitMilliseconds).ConfigureAwait(false)
            : 0);
        return stored;
    }

    private AppendOutcome Waited(IConnectionMultiplexer connection, IDatabase database, RedisKey key, Func<AppendOutcome> append)
    {
        var before = database.IdentifyEndpoint(key);
        var stored = append();
        var master = database.IdentifyEndpoint(key);
        ThrowIfUnreplicated(master is not null && master.Equals(before)
            ? (long)connection.GetServer(master).Execute("WAIT", _waitForReplicas, _waitMilliseconds)
            : 0);
        return stored;
    }

    private void ThrowIfUnreplicated(long acknowledged)
    {
        if (acknowledged < _waitForReplicas)
        {
            throw new ChatMemoryReplicationException(_waitForReplicas, acknowledged);
        }
    }
}

/// <summary>
/// append.lua's reply, <c>{stored, pending, dropped}</c>, and its one reader: the messages stored (duplicates by id are
/// not); under a rolling summary the messages now pending (0 when the append evicted nothing); the messages removed
/// (past MaxPendingMessages, or by a trim). Read from the pooled RESP reply, or from StackExchange.Redis's classic result:
/// the same three integers.
/// </summary>
internal readonly record struct AppendOutcome(long Stored, long Pending, long Dropped)
{
    /// <summary>The reply as the classic path gives it.</summary>
    public static AppendOutcome From(RedisResult result) => result.Resp2Type == ResultType.Array && result.Length == 3
        ? new((long)result[0], (long)result[1], (long)result[2])
        : throw Unexpected(result.Resp2Type.ToString());

    /// <summary>The reply read from the pooled buffer (ReadRedisValue measured 72 B per append).</summary>
    public static AppendOutcome From(RespResult reply)
    {
        using (reply)
        {
            var reader = reply.Read();
            if (!reader.IsAggregate)
            {
                throw Unexpected(reply.Prefix.ToString());
            }

            reader.MoveNext();
            var stored = Integer(ref reader, reply);
            reader.MoveNext();
            var pending = Integer(ref reader, reply);
            reader.MoveNext();
            return new(stored, pending, Integer(ref reader, reply));
        }
    }

    /// <inheritdoc cref="From(RespResult)"/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<AppendOutcome> From(ValueTask<RespResult> reply) => From(await reply.ConfigureAwait(false));

    private static long Integer(ref RespReader reader, RespResult reply) =>
        reader.TryGetSpan(out var digits) && Utf8Parser.TryParse(digits, out long value, out _)
            ? value
            : throw Unexpected(reply.Prefix.ToString());

    private static RedisException Unexpected(string what) => new($"append.lua answered {what} instead of three integers.");
}

using System.Buffers.Text;
using System.Runtime.CompilerServices;
using RESPite.Messages;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// How <c>append.lua</c> and <c>restore.lua</c> are run: the arguments come from <see cref="AppendArguments"/>, the reply
/// is read by <see cref="AppendOutcome"/>, and the <c>WAIT</c> that follows when replicas must acknowledge is
/// <see cref="ChatConnection"/>'s. Appends, imports and trims all run through here. It holds no connection: each call is
/// given the one to use.
/// </summary>
/// <remarks>The memory's appends are an <see cref="AppendCommand"/> that <see cref="ChatConnection"/> runs: pooled
/// <c>EVALSHA</c> (<see cref="AppendArguments.Pooled"/>) on a standalone server, the plain call on a cluster;
/// <see cref="RunAsync"/> and <see cref="RestoreAsync"/> are the plain path for imports and trims.</remarks>
internal sealed class AppendScript
{
    private readonly ReplicaWait _replicas;

    /// <summary>The script as <paramref name="config"/> runs it.</summary>
    public AppendScript(ChatMemoryConfig config)
    {
        Arguments = new AppendArguments(config);
        _replicas = new(config.WaitForReplicas, (long)Math.Ceiling(config.WaitForReplicasTimeout.TotalMilliseconds));
    }

    /// <summary>The writer of this configuration's arguments.</summary>
    public AppendArguments Arguments { get; }

    /// <summary>Runs append.lua with <paramref name="args"/> (from <see cref="Arguments"/>) on <paramref name="key"/>, then
    /// WAIT when replicas must acknowledge it.</summary>
    public async Task<AppendOutcome> RunAsync(IConnectionMultiplexer connection, RedisKey key, RedisValue[] args) =>
        AppendOutcome.From(await Plain(connection).RunAsync<ScriptCommand, RedisResult>(new(ChatMemoryScripts.Append, key, args, _replicas)).ConfigureAwait(false));

    /// <summary>Runs restore.lua: <paramref name="elements"/> stored as they are (see <see cref="AppendArguments.Restore"/>).</summary>
    /// <returns>The elements stored, or -1 when the conversation exists and <paramref name="replace"/> is false (nothing written).</returns>
    public async Task<long> RestoreAsync(
        IConnectionMultiplexer connection, RedisKey key, IReadOnlyList<(ReadOnlyMemory<byte> Element, string? MessageId)> elements, long ttlMilliseconds, bool replace) =>
        (long)await Plain(connection).RunAsync<ScriptCommand, RedisResult>(
            new(ChatMemoryScripts.Restore, key, AppendArguments.Restore(elements, ttlMilliseconds, replace), _replicas)).ConfigureAwait(false);

    /// <summary>The memory's append of <paramref name="messages"/> on <paramref name="connection"/> (see
    /// <see cref="ChatConnection.RunAsync"/>: pooled <c>EVALSHA</c>, or the plain call on a cluster, then WAIT when
    /// replicas must acknowledge).</summary>
    /// <returns>The messages stored (duplicates by id are not), and under a rolling summary the pending count.</returns>
    public ValueTask<AppendOutcome> AppendAsync(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        connection.RunAsync<AppendCommand, AppendOutcome>(Command(key, messages));

    /// <inheritdoc cref="AppendAsync"/>
    public AppendOutcome Append(ChatConnection connection, RedisKey key, ChatMemoryMessage[] messages) =>
        connection.Run<AppendCommand, AppendOutcome>(Command(key, messages));

    /// <summary>The append of <paramref name="messages"/> to <paramref name="key"/>, as a command either transport runs.</summary>
    public AppendCommand Command(RedisKey key, ChatMemoryMessage[] messages) => new(this, key, messages);

    /// <summary>branch.lua truncating <paramref name="key"/> to its first <paramref name="keep"/> messages (read by
    /// <see cref="BranchOutcome"/>), then WAIT when replicas must acknowledge it.</summary>
    public ScriptCommand Truncate(RedisKey key, int keep) => new(ChatMemoryScripts.Branch, key, Arguments.Branch(keep, truncate: true), _replicas);

    /// <summary>branch.lua reading the first <paramref name="keep"/> messages of <paramref name="key"/> for a fork (read by
    /// <see cref="BranchOutcome"/>); it writes nothing.</summary>
    public ScriptCommand ReadFirst(RedisKey key, int keep) => new(ChatMemoryScripts.Branch, key, Arguments.Branch(keep, truncate: false), ReplicaWait.None);

    /// <summary>restore.lua storing a fork's copy into <paramref name="key"/> only if it is empty (see
    /// <see cref="AppendArguments.Copy"/>); its reply, read by <see cref="BranchOutcome.Stored"/>, is -1 when the key exists.</summary>
    public ScriptCommand Copy(RedisKey key, RedisValue[] elements) => new(ChatMemoryScripts.Restore, key, Arguments.Copy(elements), _replicas);

    // Imports and trims are rare, operator-driven calls: the plain transport, no auto-pipeline to set up.
    private static ChatConnection Plain(IConnectionMultiplexer connection) => new(connection, pipelined: false);

    /// <summary>The memory's append as a command: pooled <c>EVALSHA</c> read by <see cref="AppendOutcome.From(RespResult)"/>,
    /// or the plain <c>EVALSHA</c> with <see cref="AppendArguments.Append"/>'s array.</summary>
    internal readonly struct AppendCommand(AppendScript script, RedisKey key, ChatMemoryMessage[] messages) : IChatCommand<AppendOutcome>
    {
        public RedisKey Key => key;

        public ReplicaWait Replicas => script._replicas;

        public bool Pooled => true;

        public PooledRequest Render(bool byText) => script.Arguments.Pooled(key, messages, byText);

        public AppendOutcome Read(RespResult reply) => AppendOutcome.From(reply);

        public async Task<AppendOutcome> SendAsync(IDatabaseAsync database) =>
            AppendOutcome.From(await database.EvaluateAsync(ChatMemoryScripts.Append, key, script.Arguments.Append(messages)).ConfigureAwait(false));

        public AppendOutcome Send(IDatabase database) => AppendOutcome.From(database.Evaluate(ChatMemoryScripts.Append, key, script.Arguments.Append(messages)));
    }

    /// <summary>A script with arguments built by the caller (imports, trims, restores, branches): the plain call only.</summary>
    internal readonly struct ScriptCommand(ChatMemoryScripts.LuaText script, RedisKey key, RedisValue[] args, ReplicaWait replicas) : IChatCommand<RedisResult>
    {
        public RedisKey Key => key;

        public ReplicaWait Replicas => replicas;

        public bool Pooled => false;

        public PooledRequest Render(bool byText) => throw new NotSupportedException();

        public RedisResult Read(RespResult reply) => throw new NotSupportedException();

        public Task<RedisResult> SendAsync(IDatabaseAsync database) => database.EvaluateAsync(script, key, args);

        public RedisResult Send(IDatabase database) => database.Evaluate(script, key, args);
    }
}

/// <summary>
/// append.lua's reply, <c>{stored, pending, dropped}</c> (a bare integer, the messages stored, for an append that left
/// nothing pending and dropped nothing), and its one reader: the messages stored (duplicates by id are
/// not); under a rolling summary the messages now pending (0 when the append evicted nothing); the messages removed
/// (past MaxPendingMessages, or by a trim). Read from the pooled RESP reply, or from StackExchange.Redis's classic result:
/// the same three integers.
/// </summary>
internal readonly record struct AppendOutcome(long Stored, long Pending, long Dropped)
{
    /// <summary>The reply as the classic path gives it.</summary>
    public static AppendOutcome From(RedisResult result) => result.Resp2Type switch
    {
        ResultType.Integer => new((long)result, 0, 0),
        ResultType.Array when result.Length == 3 => new((long)result[0], (long)result[1], (long)result[2]),
        _ => throw Unexpected(result.Resp2Type.ToString()),
    };

    /// <summary>The reply read from the pooled buffer (ReadRedisValue measured 72 B per append).</summary>
    public static AppendOutcome From(RespResult reply)
    {
        using (reply)
        {
            var reader = reply.Read();
            if (!reader.IsAggregate)
            {
                return new(Integer(ref reader, reply), 0, 0);
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

    private static RedisException Unexpected(string what) => new($"append.lua answered {what} instead of an integer or three.");
}

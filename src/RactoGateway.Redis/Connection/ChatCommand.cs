using System.Buffers;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// One Redis command of the memory, built once by the operation that sends it (its key, its arguments, how its reply is
/// read) and run by either transport of <see cref="ChatConnection"/>, synchronously or not: the pooled one renders it
/// with <see cref="Render"/> and reads the reply with <see cref="Read"/>; the plain one makes StackExchange.Redis's own
/// call (<see cref="SendAsync"/>, <see cref="Send"/>).
/// </summary>
/// <typeparam name="T">What the operation gets back.</typeparam>
/// <remarks>Implemented by small structs and run through generic methods constrained to them, so a call boxes nothing.</remarks>
internal interface IChatCommand<T>
{
    /// <summary>The key the command works on (WAIT asks the master that holds it).</summary>
    RedisKey Key { get; }

    /// <summary>Replicas that must acknowledge the write (0: none, and no WAIT).</summary>
    ReplicaWait Replicas { get; }

    /// <summary>Whether the command has a pooled form; if not, both transports make the plain call.</summary>
    bool Pooled { get; }

    /// <summary>The pooled form: command name and rented arguments; <paramref name="byText"/> after NOSCRIPT (a script
    /// named by hash is then sent by body). Disposed as soon as the call is issued.</summary>
    PooledRequest Render(bool byText);

    /// <summary>Reads (and disposes) the pooled reply.</summary>
    T Read(RespResult reply);

    /// <summary>The plain call.</summary>
    Task<T> SendAsync(IDatabaseAsync database);

    /// <inheritdoc cref="SendAsync"/>
    T Send(IDatabase database);
}

/// <summary>A command with no pooled form: StackExchange.Redis's own call on <see cref="Key"/>, on either transport
/// (static lambdas, so building one allocates nothing).</summary>
internal readonly struct PlainCommand<T>(RedisKey key, Func<IDatabaseAsync, RedisKey, Task<T>> sendAsync, Func<IDatabase, RedisKey, T> send) : IChatCommand<T>
{
    public RedisKey Key => key;

    public ReplicaWait Replicas => ReplicaWait.None;

    public bool Pooled => false;

    public PooledRequest Render(bool byText) => throw new NotSupportedException();

    public T Read(RespResult reply) => throw new NotSupportedException();

    public Task<T> SendAsync(IDatabaseAsync database) => sendAsync(database, key);

    public T Send(IDatabase database) => send(database, key);
}

/// <summary>How many replicas must acknowledge a write, and for how long WAIT waits for them.</summary>
internal readonly record struct ReplicaWait(int Replicas, long TimeoutMilliseconds)
{
    public static ReplicaWait None => default;
}

/// <summary>
/// A command's pooled form: its name and arguments in a rented array, with the <see cref="EncodeBuffer"/> its element
/// slices point into. StackExchange.Redis copies every argument into its own request buffer while it creates the
/// command, so it is disposed as soon as the call returns.
/// </summary>
internal readonly struct PooledRequest : IDisposable
{
    private readonly RedisKeyOrValue[] _args;
    private readonly int _count;
    private readonly EncodeBuffer? _buffer;

    private PooledRequest(string command, RedisKeyOrValue[] args, int count, EncodeBuffer? buffer)
    {
        Command = command;
        _args = args;
        _count = count;
        _buffer = buffer;
    }

    /// <summary>The command's name.</summary>
    public string Command { get; }

    /// <summary>The arguments after the command name.</summary>
    public ReadOnlyMemory<RedisKeyOrValue> Memory => new(_args, 0, _count);

    /// <summary>Rents room for <paramref name="count"/> arguments, filled by the caller before the request is used.</summary>
    public static PooledRequest Rent(string command, int count, EncodeBuffer? buffer, out RedisKeyOrValue[] args)
    {
        args = ArrayPool<RedisKeyOrValue>.Shared.Rent(count);
        return new PooledRequest(command, args, count, buffer);
    }

    public void Dispose()
    {
        // Cleared so that the pool holds no keys or slices of the buffer.
        ArrayPool<RedisKeyOrValue>.Shared.Return(_args, clearArray: true);
        _buffer?.Dispose();
    }
}

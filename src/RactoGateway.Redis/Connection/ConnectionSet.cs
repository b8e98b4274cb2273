using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// The multiplexers a memory sends through, in turn: the <see cref="ChatMemoryConfig.Connections"/> it opens itself
/// (from options or a factory; their events logged, all closed on dispose), or the one it was given (left to its owner,
/// who logs it).
/// </summary>
/// <remarks>
/// <para>Constructing one does no I/O: the connections are opened on the first call that needs them, once, however many
/// calls come at the same time (they all wait for the one open under way, and get its failure if it fails). A failed
/// open is not remembered: the next call opens again. Disposing while a connection is being opened closes it as soon
/// as it is.</para>
/// <para>An asynchronous call opens them with <see cref="ConnectionMultiplexer.ConnectAsync(ConfigurationOptions, TextWriter?)"/>;
/// a synchronous one with <see cref="ConnectionMultiplexer.Connect(ConfigurationOptions, TextWriter?)"/>, StackExchange.Redis's
/// own synchronous connect, so a sync caller never waits on a task of ours. (A factory is asynchronous: a sync caller
/// runs it on the thread pool and waits, so the caller's synchronization context is never needed to finish it.)</para>
/// <para>The open itself takes no cancellation token: it is shared by every caller waiting for it, so one caller's token
/// must not end it; each caller's wait is cancellable (<see cref="Diagnostics.ChatMemoryInstruments.RunAsync"/>).</para>
/// </remarks>
internal sealed partial class ConnectionSet : IDisposable, IAsyncDisposable
{
    private readonly Func<int, Task<IConnectionMultiplexer>>? _openAsync;
    private readonly Func<int, IConnectionMultiplexer>? _open;
    private readonly int _count;
    private readonly bool _owned;
    private readonly bool _pipelined;
    private readonly ILogger _logger;
    private readonly string _endpoints;
    private readonly Lock _publish = new();
    private TaskCompletionSource<ChatConnection[]>? _opening;
    private volatile ChatConnection[]? _connections;
    private ConnectionEventLog[] _events = [];
    private bool _disposed;
    private uint _next;

    private ConnectionSet(
        int count, bool owned, bool pipelined, ILogger logger, string endpoints, Func<int, Task<IConnectionMultiplexer>>? openAsync, Func<int, IConnectionMultiplexer>? open)
    {
        _count = count;
        _owned = owned;
        _pipelined = pipelined;
        _logger = logger;
        _endpoints = endpoints;
        _openAsync = openAsync;
        _open = open;
    }

    /// <summary>Whether the connections are open (or were given).</summary>
    public bool IsOpen => _connections is not null;

    /// <summary>Every connection, in the order they are used; opens them (synchronously) if needed. For tests.</summary>
    public IReadOnlyList<ChatConnection> All => _connections ?? OpenAll();

    /// <summary>Every multiplexer, in the order they are used; opens them (synchronously) if needed. For tests.</summary>
    public IReadOnlyList<IConnectionMultiplexer> Multiplexers => Array.ConvertAll(_connections ?? OpenAll(), c => c.Multiplexer);

    /// <summary>Will open <paramref name="count"/> multiplexers with <paramref name="options"/> on first use (a copy of
    /// the options each, with the memory's reply buffers unless the options name a pool, AbortOnConnectFail and one
    /// connect attempt); no I/O here.</summary>
    public static ConnectionSet Connect(ConfigurationOptions options, int count, bool pipelined, ILogger? logger)
    {
        // A copy: the caller's options are theirs, and may change after this returns.
        options = options.Clone();
        options.ResponseBufferPool ??= ChatMemoryReplyBufferPool.Instance;

        // A server that cannot be reached fails the open, and so the call that needed it, with StackExchange.Redis's
        // RedisConnectionException at once, instead of leaving a multiplexer that holds every command in its backlog
        // until the command times out; the next call opens again. (AbortOnConnectFail only concerns the first connect:
        // once open, a multiplexer reconnects on its own.) One attempt per open: the memory's next call is the retry, and
        // StackExchange.Redis's own retries would only multiply how long the call that opens waits.
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        return new ConnectionSet(
            count,
            owned: true,
            pipelined,
            logger ?? NullLogger.Instance,
            RedisEndpoint.Describe(options),
            async _ => await ConnectionMultiplexer.ConnectAsync(options.Clone()).ConfigureAwait(false),
            _ => ConnectionMultiplexer.Connect(options.Clone()));
    }

    /// <summary>Will call <paramref name="factory"/> once per connection on first use, and own what it returns.</summary>
    public static ConnectionSet FromFactory(Func<Task<IConnectionMultiplexer>> factory, int count, bool pipelined, ILogger? logger) =>
        new(
            count,
            owned: true,
            pipelined,
            logger ?? NullLogger.Instance,
            "(factory)",
            async _ => await factory().ConfigureAwait(false) ?? throw NullFromFactory(),
            _ => Task.Run(factory).GetAwaiter().GetResult() ?? throw NullFromFactory());

    /// <summary>Uses <paramref name="multiplexer"/> alone: more like it cannot be opened by someone who did not create it.</summary>
    public static ConnectionSet Borrow(IConnectionMultiplexer multiplexer, int configuredCount, ILogger? logger, bool pipelined = true)
    {
        if (configuredCount > 1)
        {
            ConnectionsIgnored(logger ?? NullLogger.Instance, configuredCount);
        }

        var set = new ConnectionSet(1, owned: false, pipelined, NullLogger.Instance, "", null, null);
        set._connections = [new ChatConnection(multiplexer, pipelined)];
        return set;
    }

    /// <summary>The connection for the next call (round robin); opens the connections first if this is the first call.</summary>
    public async ValueTask<ChatConnection> NextAsync() => Pick(_connections ?? await OpenAllAsync().ConfigureAwait(false));

    /// <summary>Runs <paramref name="command"/> on the next connection (see <see cref="ChatConnection.RunAsync"/>),
    /// opening the connections first if this is the first call.</summary>
    public ValueTask<T> RunAsync<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        _connections is { } connections ? Pick(connections).RunAsync<TCommand, T>(command) : OpenThenRunAsync<TCommand, T>(command);

    /// <inheritdoc cref="RunAsync"/>
    public T Run<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        Next().Run<TCommand, T>(command);

    /// <summary>The connection for the next synchronous call; opens the connections synchronously if needed.</summary>
    public ChatConnection Next() => Pick(_connections ?? OpenAll());

    public override string ToString() =>
        $"endpoints={(_connections is { } c ? RedisEndpoint.Describe(c[0].Multiplexer.GetEndPoints()) : _endpoints)}, connections={_count}";

    public void Dispose()
    {
        foreach (var multiplexer in Release())
        {
            multiplexer.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var multiplexer in Release())
        {
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ChatConnection Pick(ChatConnection[] connections) =>
        connections.Length == 1 ? connections[0] : connections[(int)(Interlocked.Increment(ref _next) % (uint)connections.Length)];

    private async ValueTask<T> OpenThenRunAsync<TCommand, T>(TCommand command)
        where TCommand : struct, IChatCommand<T> =>
        await Pick(await OpenAllAsync().ConfigureAwait(false)).RunAsync<TCommand, T>(command).ConfigureAwait(false);

    private async Task<ChatConnection[]> OpenAllAsync()
    {
        var (opening, mine) = Join();
        if (mine is not null)
        {
            var opened = new IConnectionMultiplexer[_count];
            try
            {
                for (var i = 0; i < opened.Length; i++)
                {
                    opened[i] = await _openAsync!(i).ConfigureAwait(false);
                }

                Finish(mine, opened, null);
            }
#pragma warning disable CA1031 // Not swallowed: every caller waiting for this open gets it from the task.
            catch (Exception error)
#pragma warning restore CA1031
            {
                Finish(mine, opened, error);
            }
        }

        return await opening.ConfigureAwait(false);
    }

    // Synchronous: StackExchange.Redis's own synchronous connect when this call opens; when an asynchronous open is
    // already under way, a wait for it (its steps never need this thread, so the wait cannot deadlock).
    private ChatConnection[] OpenAll()
    {
        var (opening, mine) = Join();
        if (mine is not null)
        {
            var opened = new IConnectionMultiplexer[_count];
            try
            {
                for (var i = 0; i < opened.Length; i++)
                {
                    opened[i] = _open!(i);
                }

                Finish(mine, opened, null);
            }
#pragma warning disable CA1031 // Not swallowed: every caller waiting for this open gets it from the task.
            catch (Exception error)
#pragma warning restore CA1031
            {
                Finish(mine, opened, error);
            }
        }

        return opening.GetAwaiter().GetResult();
    }

    /// <summary>The open under way, or a new one that this caller must carry out (<c>mine</c>).</summary>
    private (Task<ChatConnection[]> Opening, TaskCompletionSource<ChatConnection[]>? Mine) Join()
    {
        lock (_publish)
        {
            if (_connections is { } done)
            {
                return (Task.FromResult(done), null);
            }

            ObjectDisposedException.ThrowIf(_disposed, nameof(RedisChatMemory));
            if (_opening is { } opening)
            {
                return (opening.Task, null);
            }

            _opening = new TaskCompletionSource<ChatConnection[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            return (_opening.Task, _opening);
        }
    }

    /// <summary>Ends an open: the connections become the set's, unless it failed (the next call opens again) or the set
    /// was disposed meanwhile (what was opened is closed).</summary>
    private void Finish(TaskCompletionSource<ChatConnection[]> opening, IConnectionMultiplexer?[] opened, Exception? error)
    {
        lock (_publish)
        {
            _opening = null;
            if (error is null && !_disposed)
            {
                var connections = Array.ConvertAll(opened, m => new ChatConnection(m!, _pipelined));
                _events = Array.ConvertAll(opened, m => new ConnectionEventLog(m!, _logger));
                _connections = connections;
                opening.SetResult(connections);
                return;
            }
        }

        Close(opened);
        opening.SetException(error ?? new ObjectDisposedException(nameof(RedisChatMemory)));
    }

    private static void Close(IConnectionMultiplexer?[] opened)
    {
        foreach (var multiplexer in opened)
        {
            multiplexer?.Dispose();
        }
    }

    /// <summary>Marks the set disposed and stops logging; returns the multiplexers to close (none when borrowed or not
    /// yet open: an open under way closes its own when it finds the set disposed).</summary>
    private IConnectionMultiplexer[] Release()
    {
        ChatConnection[]? connections;
        ConnectionEventLog[] events;
        lock (_publish)
        {
            if (_disposed)
            {
                return [];
            }

            _disposed = true;
            connections = _connections;
            events = _events;
        }

        foreach (var log in events)
        {
            log.Dispose();
        }

        return _owned && connections is not null ? Array.ConvertAll(connections, c => c.Multiplexer) : [];
    }

    private static InvalidOperationException NullFromFactory() => new("The connection factory returned null instead of a multiplexer.");
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// Sends the memory's reads and appends that are issued at about the same time as one write to the socket
/// (auto-pipelining, as ioredis and Lettuce offer it). StackExchange.Redis writes each command on its own: measured at
/// 64 callers, 1.4 commands per <c>send()</c> and a context switch per command, on the client and on Redis. Here a
/// command sent while others are in flight joins a round: the first of a round opens an <see cref="IBatch"/> and wakes
/// the flush thread, every command issued before it runs joins the round, and the flush writes them together. A command
/// alone in flight is written at once. Measured on raw
/// EVALSHA appends (flushed from the thread pool then): 30% more per second and a third less client CPU per call at 64
/// and 256 callers, the same at 1 and 16.
/// </summary>
/// <remarks>
/// Each command's arguments are rendered when it joins the batch (so rented argument buffers can be returned at once),
/// and replies come back one by one, as without a batch. A command waits for the flush thread to wake before it is
/// written (StackExchange.Redis's timeouts count from when it joins). Only commands on a standalone server go through
/// here (<see cref="ChatConnection.UsesRespReplies"/>): batches are not used against a cluster.
/// </remarks>
internal sealed class AutoPipeline(IDatabase database)
{
    private readonly object _gate = new();
    private IBatch? _round;
    private int _inFlight;

    /// <summary>Sends the command: at once when it is the only one in flight on this connection (a lone caller pays no
    /// thread-pool hop: measured, that doubled its latency), else in the current round, opening one and scheduling its
    /// flush if none is open.</summary>
    /// <remarks>The arguments are rendered before the first await, so the caller may return rented ones at once.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RespResult> ExecuteRespAsync(string command, ReadOnlyMemory<RedisKeyOrValue> args)
    {
        var alone = Interlocked.Increment(ref _inFlight) == 1;
        try
        {
            return await (alone ? database.ExecuteRespAsync(command, args) : Join(command, args)).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private Task<RespResult> Join(string command, ReadOnlyMemory<RedisKeyOrValue> args)
    {
        Task<RespResult> reply;
        bool opened;
        lock (_gate)
        {
            opened = _round is null;
            _round ??= database.CreateBatch();
            reply = _round.ExecuteRespAsync(command, args);
        }

        if (opened)
        {
            Flusher.Schedule(this);
        }

        return reply;
    }

    /// <summary>Closes the round and writes it.</summary>
    private void Flush()
    {
        IBatch? round;
        lock (_gate)
        {
            round = _round;
            _round = null;
        }

        try
        {
            round?.Execute();
        }
#pragma warning disable CA1031 // This runs on a pool thread, where an exception would end the process.
        catch (Exception)
#pragma warning restore CA1031
        {
            // No server for the round (a connection lost, a multiplexer disposed): StackExchange.Redis fails each of its
            // commands with the reason before it throws, and each caller gets that from its own task.
        }
    }

    /// <summary>
    /// The one thread of the process that writes the rounds. Not the thread pool: a busy pool (callers blocking on
    /// async work) held a round in its queue until StackExchange.Redis's timeout expired with the command never written
    /// (seen in a test run: 3 s, 7 busy workers, 11 items queued). While the thread wakes up, more commands join. (A
    /// pool with every worker blocked stalls writes anyway: StackExchange.Redis 3.4 sends on the socket from the pool.)
    /// </summary>
    private static class Flusher
    {
        private static readonly ConcurrentQueue<AutoPipeline> Due = new();
        private static readonly SemaphoreSlim Signal = new(0);
        private static int s_started;

        public static void Schedule(AutoPipeline pipeline)
        {
            Due.Enqueue(pipeline);
            if (Volatile.Read(ref s_started) == 0 && Interlocked.Exchange(ref s_started, 1) == 0)
            {
                new Thread(Run) { IsBackground = true, Name = "RactoGateway.Redis flush" }.Start();
            }

            Signal.Release();
        }

        private static void Run()
        {
            while (true)
            {
                Signal.Wait();
                while (Due.TryDequeue(out var pipeline))
                {
                    pipeline.Flush();
                }
            }
        }
    }
}

namespace RactoGateway.Redis;

/// <summary>
/// The one batch loop: work on many keys runs <see cref="Size"/> at a time, issued together (pipelined on the
/// connection) and awaited in order, so that memory and the server's queue stay bounded however many keys there are.
/// </summary>
internal static class Batches
{
    /// <summary>Items per batch: keys per SCAN call, conversations read or written together by the operator's commands.</summary>
    public const int Size = 256;

    /// <summary>Runs <paramref name="start"/> for each item, <see cref="Size"/> at a time, then <paramref name="done"/> in
    /// item order; <paramref name="progress"/> is told the items done after each batch.</summary>
    /// <param name="items">The items.</param>
    /// <param name="start">Starts the work on one item.</param>
    /// <param name="done">Takes each item's result, in item order.</param>
    /// <param name="progress">Told how many items are done; optional.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public static Task ForEachAsync<TItem, T>(
        IReadOnlyList<TItem> items, Func<TItem, Task<T>> start, Action<TItem, T> done, Action<int>? progress, CancellationToken cancellationToken) =>
        ForEachAsync(items, start, (item, result) =>
        {
            done(item, result);
            return ValueTask.CompletedTask;
        }, progress, cancellationToken);

    /// <inheritdoc cref="ForEachAsync{TItem, T}(IReadOnlyList{TItem}, Func{TItem, Task{T}}, Action{TItem, T}, Action{int}?, CancellationToken)"/>
    public static async Task ForEachAsync<TItem, T>(
        IReadOnlyList<TItem> items, Func<TItem, Task<T>> start, Func<TItem, T, ValueTask> done, Action<int>? progress, CancellationToken cancellationToken)
    {
        var running = new Task<T>[Math.Min(Size, items.Count)];
        for (var first = 0; first < items.Count; first += Size)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(Size, items.Count - first);
            for (var i = 0; i < count; i++)
            {
                running[i] = start(items[first + i]);
            }

            for (var i = 0; i < count; i++)
            {
                await done(items[first + i], await running[i].ConfigureAwait(false)).ConfigureAwait(false);
            }

            progress?.Invoke(first + count);
        }
    }
}

using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace RactoGateway.Redis.Admin;

/// <summary>
/// Finds conversations by key: SCAN in batches of <see cref="Batches.Size"/> for a pattern of
/// <see cref="ConversationKey.Pattern"/> on every master (one server: that server; a cluster: each shard).
/// </summary>
internal static class ConversationScan
{
    /// <summary>Every matching key, each once, in SCAN order (unsorted), from every master.</summary>
    public static async IAsyncEnumerable<RedisKey> KeysAsync(
        IConnectionMultiplexer connection, string pattern, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var database = connection.GetDatabase().Database;
        var masters = connection.GetServers().Where(s => !s.IsReplica).ToArray();
        if (masters.Length == 0)
        {
            throw new RedisException("No master server is connected to scan.");
        }

        // A key lives on exactly one master of a cluster; the set only guards against a topology change mid-scan.
        HashSet<string>? seen = masters.Length > 1 ? new(StringComparer.Ordinal) : null;
        foreach (var server in masters)
        {
            await foreach (var key in server.KeysAsync(database, pattern, Batches.Size).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (seen is null || seen.Add(key!))
                {
                    yield return key;
                }
            }
        }
    }

    /// <summary>All matching keys, as a list.</summary>
    public static async Task<List<RedisKey>> ListAsync(IConnectionMultiplexer connection, string pattern, CancellationToken cancellationToken)
    {
        var keys = new List<RedisKey>();
        await foreach (var key in KeysAsync(connection, pattern, cancellationToken).ConfigureAwait(false))
        {
            keys.Add(key);
        }

        return keys;
    }
}

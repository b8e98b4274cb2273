using System.Runtime.CompilerServices;
using System.Text;
using StackExchange.Redis;

namespace RactoGateway.Redis.Admin;

/// <summary>
/// Finds conversations by key: SCAN in batches for <c>{prefix}:{match}</c> on every master (one server: that server; a
/// cluster: each shard). The prefix is always matched literally; the id part by glob, or literally when asked.
/// </summary>
internal static class ConversationScan
{
    /// <summary>Keys per SCAN call.</summary>
    public const int Batch = 500;

    /// <summary>The SCAN pattern for the conversations of <paramref name="prefix"/> whose ids match.</summary>
    public static string Pattern(string prefix, string? match, bool literal)
    {
        if (match is { Length: 0 })
        {
            throw new ArgumentException("The match pattern must not be empty (null matches every conversation).", nameof(match));
        }

        var ids = match is null ? "*" : literal ? EscapeGlob(match) : match;
        return EscapeGlob(prefix) + ":" + ids;
    }

    /// <summary>Escapes Redis glob characters so that <paramref name="text"/> matches only itself.</summary>
    public static string EscapeGlob(string text)
    {
        var builder = new StringBuilder(text.Length + 4);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

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
            await foreach (var key in server.KeysAsync(database, pattern, Batch).WithCancellation(cancellationToken).ConfigureAwait(false))
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

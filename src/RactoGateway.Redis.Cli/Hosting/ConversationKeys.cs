using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// Finds conversations by key: SCAN in batches for <c>{prefix}:{match}</c> on every master (on one server, that one
/// server; on a cluster, each shard). The prefix is always matched literally; the id part by glob, or literally with
/// <c>--literal</c>.
/// </summary>
internal static class ConversationKeys
{
    /// <summary>Keys per SCAN call.</summary>
    public const int ScanBatch = 500;

    /// <summary>The <c>--match</c> and <c>--literal</c> options, new instances for one command.</summary>
    public static (Option<string?> Match, Option<bool> Literal) Options() =>
        (new Option<string?>("--match") { Description = "Only conversation ids matching this glob (* ? [abc] \\x); default: all." },
         new Option<bool>("--literal") { Description = "Match the --match text literally: its * ? [ ] \\ are not glob characters." });

    /// <summary>The SCAN pattern for the conversations of <paramref name="prefix"/> whose ids match.</summary>
    public static string Pattern(string prefix, string? match, bool literal)
    {
        if (match is { Length: 0 })
        {
            throw new ArgumentException("--match must not be empty.");
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

    /// <summary>The conversation id of a key under <paramref name="prefix"/>.</summary>
    public static string IdOf(string prefix, RedisKey key) => ((string)key!)[(prefix.Length + 1)..];

    /// <summary>Every matching key, each once, in SCAN order (unsorted), from every master.</summary>
    public static async IAsyncEnumerable<RedisKey> ScanAsync(
        IConnectionMultiplexer connection, string pattern, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var database = connection.GetDatabase().Database;
        var masters = connection.GetServers().Where(s => !s.IsReplica).ToArray();
        if (masters.Length == 0)
        {
            throw new RedisException("no master server to scan");
        }

        // A key lives on exactly one master of a cluster; the set only guards against a topology change mid-scan.
        HashSet<string>? seen = masters.Length > 1 ? new(StringComparer.Ordinal) : null;
        foreach (var server in masters)
        {
            await foreach (var key in server.KeysAsync(database, pattern, ScanBatch).WithCancellation(cancellationToken))
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
        await foreach (var key in ScanAsync(connection, pattern, cancellationToken))
        {
            keys.Add(key);
        }

        return keys;
    }
}

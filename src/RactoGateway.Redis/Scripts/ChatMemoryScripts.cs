using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The Lua scripts, read once from the embedded <c>.lua</c> resources beside this file (commented for people; the
/// comments are stripped before sending). Each call sends only the script's SHA1 (EVALSHA); when a server answers
/// NOSCRIPT (after a restart, a failover or SCRIPT FLUSH) the body is sent once with EVAL, which caches it again.
/// Sending by hash also spares the client from hashing the script text on every call, which measured about 25% of
/// append throughput at 64 callers.
/// </summary>
internal static class ChatMemoryScripts
{
    /// <summary>Every append: de-duplicate, push, trim by the window rules, expire (see <c>append.lua</c>).</summary>
    public static readonly LuaText Append = new("append.lua");

    /// <summary>The rolling summary's commit: new text, folded elements removed, compare-and-set (see <c>summary.lua</c>).</summary>
    public static readonly LuaText Summary = new("summary.lua");

    /// <summary>Runs <paramref name="script"/> on <paramref name="key"/>, by hash, falling back to its body on NOSCRIPT.</summary>
    public static async Task<RedisResult> EvaluateAsync(this IDatabaseAsync database, LuaText script, RedisKey key, RedisValue[] args)
    {
        try
        {
            return await database.ScriptEvaluateAsync(script.Sha1, [key], args).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (IsNoScript(ex))
        {
            return await database.ScriptEvaluateAsync(script.Text, [key], args).ConfigureAwait(false);
        }
    }

    /// <inheritdoc cref="EvaluateAsync"/>
    public static RedisResult Evaluate(this IDatabase database, LuaText script, RedisKey key, RedisValue[] args)
    {
        try
        {
            return database.ScriptEvaluate(script.Sha1, [key], args);
        }
        catch (RedisServerException ex) when (IsNoScript(ex))
        {
            return database.ScriptEvaluate(script.Text, [key], args);
        }
    }

    /// <summary>Whether Redis answered NOSCRIPT: it does not have the script cached.</summary>
    internal static bool IsNoScript(RedisServerException ex) => ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal);

    /// <summary>A script's text without comment lines, and its SHA1 as Redis computes it.</summary>
    internal sealed class LuaText
    {
        public LuaText(string name)
        {
            using var stream = typeof(ChatMemoryScripts).Assembly.GetManifestResourceStream("RactoGateway.Redis.Scripts." + name)
                ?? throw new InvalidOperationException($"Embedded script '{name}' is missing from {typeof(ChatMemoryScripts).Assembly.GetName().Name}.");
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal));
            Text = string.Join('\n', lines);
#pragma warning disable CA5350 // SHA1 is how Redis names scripts, not a security measure.
            Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Text));
#pragma warning restore CA5350
            HexSha1 = LowerHex(Sha1);
            Body = Text;
        }

        public string Text { get; }

        private static byte[] LowerHex(byte[] bytes)
        {
            var hex = new byte[bytes.Length * 2];
            for (var i = 0; i < bytes.Length; i++)
            {
                hex[2 * i] = (byte)"0123456789abcdef"[bytes[i] >> 4];
                hex[(2 * i) + 1] = (byte)"0123456789abcdef"[bytes[i] & 0xF];
            }

            return hex;
        }

        public byte[] Sha1 { get; }

        /// <summary>The SHA1 in hex, as EVALSHA takes it, ready to send.</summary>
        public RedisValue HexSha1 { get; }

        /// <summary>The text, ready to send with EVAL.</summary>
        public RedisValue Body { get; }
    }
}

using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The Lua scripts, read once from the embedded <c>.lua</c> resources beside this file (commented for people; the
/// comments are stripped before sending), each joined behind <c>prelude.lua</c>. Each call sends only the script's SHA1
/// (EVALSHA); when a server answers NOSCRIPT (after a restart, a failover or SCRIPT FLUSH) the body is sent once with
/// EVAL, which caches it again (<see cref="ByHashAsync"/>, the one place that does). Sending by hash also spares the
/// client from hashing the script text on every call.
/// </summary>
internal static class ChatMemoryScripts
{
    /// <summary>Appends, an import's appends and trims: de-duplicate, push, trim by the window rules, expire (see <c>append.lua</c>).</summary>
    public static readonly LuaText Append = new("append.lua");

    /// <summary>An import of a summarized conversation, stored as exported (see <c>restore.lua</c>).</summary>
    public static readonly LuaText Restore = new("restore.lua");

    /// <summary>A conversation's first messages: truncated to in place, or read for a fork (see <c>branch.lua</c>).</summary>
    public static readonly LuaText Branch = new("branch.lua");

    /// <summary>The rolling summary's commit: new text, folded elements removed, compare-and-set (see <c>summary.lua</c>).</summary>
    public static readonly LuaText Summary = new("summary.lua");

    /// <summary>
    /// The one NOSCRIPT fallback: <paramref name="call"/> by hash, then once by body when the server has forgotten the
    /// script. A synchronous caller passes a call that completes at once (or throws), so nothing here waits.
    /// </summary>
    /// <param name="state">What <paramref name="call"/> needs (a static lambda allocates nothing).</param>
    /// <param name="call">The call; its flag says to send the script's body (EVAL) instead of its hash (EVALSHA).</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T> ByHashAsync<TState, T>(TState state, Func<TState, bool, ValueTask<T>> call)
    {
        try
        {
            return await call(state, false).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (IsNoScript(ex))
        {
            return await call(state, true).ConfigureAwait(false);
        }
    }

    /// <summary><see cref="ByHashAsync"/> for a call that completes synchronously.</summary>
    public static T ByHash<TState, T>(TState state, Func<TState, bool, T> call) =>
        Completed(ByHashAsync((state, call), static (s, byText) => new ValueTask<T>(s.call(s.state, byText))));

    /// <summary>Runs <paramref name="script"/> on <paramref name="key"/> (the classic path: arrays of arguments).</summary>
    public static Task<RedisResult> EvaluateAsync(this IDatabaseAsync database, LuaText script, RedisKey key, RedisValue[] args) =>
        ByHashAsync((database, script, key, args), static (s, byText) => new ValueTask<RedisResult>(byText
            ? s.database.ScriptEvaluateAsync(s.script.Text, [s.key], s.args)
            : s.database.ScriptEvaluateAsync(s.script.Sha1, [s.key], s.args))).AsTask();

    /// <inheritdoc cref="EvaluateAsync"/>
    public static RedisResult Evaluate(this IDatabase database, LuaText script, RedisKey key, RedisValue[] args) =>
        ByHash((database, script, key, args), static (s, byText) => byText
            ? s.database.ScriptEvaluate(s.script.Text, [s.key], s.args)
            : s.database.ScriptEvaluate(s.script.Sha1, [s.key], s.args));

    private static T Completed<T>(ValueTask<T> task) =>
        task.IsCompleted ? task.Result : throw new InvalidOperationException("A synchronous script call did not complete synchronously.");

    /// <summary>A script's text (the prelude, then the script) without comment lines, and its SHA1 as Redis computes it.</summary>
    /// <summary>Whether Redis answered NOSCRIPT: it does not have the script cached (after a restart, a failover or
    /// SCRIPT FLUSH). The pooled path (<c>ChatConnection</c>) retries by body on it too, without this method's closure.</summary>
    internal static bool IsNoScript(RedisServerException ex) => ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal);

    internal sealed class LuaText
    {
        public LuaText(string name)
        {
            Text = string.Join('\n', Code("prelude.lua").Concat(Code(name)));
#pragma warning disable CA5350 // SHA1 is how Redis names scripts, not a security measure.
            Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Text));
#pragma warning restore CA5350
            HexSha1 = LowerHex(Sha1);
            Body = Text;
        }

        /// <summary>The text sent with EVAL.</summary>
        public string Text { get; }

        public byte[] Sha1 { get; }

        /// <summary>The SHA1 in hex, as EVALSHA takes it, ready to send.</summary>
        public RedisValue HexSha1 { get; }

        /// <summary>The text, ready to send with EVAL.</summary>
        public RedisValue Body { get; }

        private static IEnumerable<string> Code(string name)
        {
            using var stream = typeof(ChatMemoryScripts).Assembly.GetManifestResourceStream("RactoGateway.Redis.Scripts." + name)
                ?? throw new InvalidOperationException($"Embedded script '{name}' is missing from {typeof(ChatMemoryScripts).Assembly.GetName().Name}.");
            using var reader = new StreamReader(stream);
            return [.. reader.ReadToEnd().Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal))];
        }

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
    }
}

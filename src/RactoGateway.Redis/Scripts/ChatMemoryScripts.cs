namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The Lua scripts, read once from the embedded <c>.lua</c> resources beside this file.
/// They are passed to <c>ScriptEvaluate</c> as text: StackExchange.Redis then loads each once per server
/// (SCRIPT LOAD) and sends EVALSHA, falling back to EVAL when a server answers NOSCRIPT after a restart,
/// a failover or SCRIPT FLUSH.
/// </summary>
internal static class ChatMemoryScripts
{
    /// <summary>RPUSH + LTRIM + PEXPIRE on one key (see <c>append.lua</c>).</summary>
    public static readonly string Append = Load("append.lua");

    private static string Load(string name)
    {
        using var stream = typeof(ChatMemoryScripts).Assembly.GetManifestResourceStream("RactoGateway.Redis.Scripts." + name)
            ?? throw new InvalidOperationException($"Embedded script '{name}' is missing from {typeof(ChatMemoryScripts).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

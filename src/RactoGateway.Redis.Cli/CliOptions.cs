using System.CommandLine;

namespace RactoGateway.Redis.Cli;

/// <summary>The global options, shared by every verb.</summary>
internal static class CliOptions
{
    public static readonly Option<string?> Redis = new("--redis")
    {
        Description = "redis://[user:password@]host:port[/db], rediss://..., or host:port[,host:port]. Default: $CHATMEM_REDIS, else an embedded Garnet server.",
        Recursive = true,
    };

    public static readonly Option<string> Prefix = new("--prefix")
    {
        Description = "Key prefix: conversations live at {prefix}:{conversation}.",
        DefaultValueFactory = _ => ChatMemoryConfig.DefaultKeyPrefix,
        Recursive = true,
    };

    public static readonly Option<int?> MaxTurns = new("--max-turns")
    {
        Description = "Turns kept per conversation (the window is twice as many messages). Default 10.",
        Recursive = true,
    };

    public static readonly Option<double?> Ttl = new("--ttl")
    {
        Description = "Seconds a conversation lives after its last append. Default: never expires.",
        Recursive = true,
    };

    public static readonly Option<string> DataDir = new("--data-dir")
    {
        Description = "Where the embedded server keeps its data.",
        DefaultValueFactory = _ => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "chatmem"),
        Recursive = true,
    };

    public static IEnumerable<Option> Global => [Redis, Prefix, MaxTurns, Ttl, DataDir];

    /// <summary>The Redis URL from --redis or CHATMEM_REDIS; <see langword="null"/> means the embedded server.</summary>
    public static string? RedisUrl(ParseResult parsed) =>
        parsed.GetValue(Redis) is { Length: > 0 } url ? url
        : Environment.GetEnvironmentVariable("CHATMEM_REDIS") is { Length: > 0 } env ? env
        : null;

    /// <summary>The memory settings from the global options; <paramref name="defaultMaxTurns"/> and
    /// <paramref name="defaultTtlSeconds"/> apply when the option is absent.</summary>
    public static ChatMemoryConfig Config(ParseResult parsed, int defaultMaxTurns = 10, double? defaultTtlSeconds = null)
    {
        var ttl = parsed.GetValue(Ttl) ?? defaultTtlSeconds;
        return new ChatMemoryConfig
        {
            KeyPrefix = parsed.GetValue(Prefix)!,
            MaxTurns = parsed.GetValue(MaxTurns) ?? defaultMaxTurns,
            Ttl = ttl is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
    }
}

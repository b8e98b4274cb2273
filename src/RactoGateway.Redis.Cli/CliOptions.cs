using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace RactoGateway.Redis.Cli;

/// <summary>The global options, shared by every verb.</summary>
internal static class CliOptions
{
    public static readonly Option<string?> Redis = new("--redis")
    {
        Description = "redis://[user:password@]host:port[/db], rediss://... (TLS), or host:port[,host:port][,password=...]; any other " +
            "scheme (http://, tcp://) or a mistyped redis:/ is refused with exit 2. Default: $CHATMEM_REDIS, else an embedded Garnet server.",
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
        CustomParser = r => Number(r, "--max-turns", 1, int.MaxValue / 2, wholeNumber: true) is { } n ? (int)n : null,
    };

    public static readonly Option<double?> Ttl = new("--ttl")
    {
        Description = "Seconds a conversation lives after its last append. Default: never expires.",
        Recursive = true,
        CustomParser = r => Number(r, "--ttl", 1, TimeSpan.FromDays(365 * 100).TotalSeconds, wholeNumber: false),
    };

    public static readonly Option<string> DataDir = new("--data-dir")
    {
        Description = "Where the embedded server keeps its data.",
        DefaultValueFactory = _ => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "chatmem"),
        Recursive = true,
    };

    public static readonly Option<double?> LockTimeout = new("--lock-timeout")
    {
        Description = "Seconds to wait for another chatmem holding --data-dir (default $CHATMEM_LOCK_TIMEOUT, else 120; 0 = do not wait).",
        Recursive = true,
        CustomParser = r => Number(r, "--lock-timeout", 0, 86_400, wholeNumber: false),
    };

    public static readonly Option<bool> PinSystem = new("--pin-system")
    {
        Description = "Pin system messages (the service's Window.PinSystemMessages). Default: $CHATMEM_PIN_SYSTEM=1, else off.",
        Recursive = true,
    };

    public static readonly Option<bool> ToolAware = new("--tool-aware")
    {
        Description = "Trim whole exchanges (the service's Window.ToolCallAware). Default: $CHATMEM_TOOL_AWARE=1, else off.",
        Recursive = true,
    };

    public static readonly Option<bool> Summarize = new("--summarize")
    {
        Description = "Keep what leaves the window for a rolling summary (ChatMemoryConfig.Summarize; every writer of a conversation " +
            "must agree). chat then folds it into the summary; other verbs leave it pending. Default: $CHATMEM_SUMMARIZE=1, else off.",
        Recursive = true,
    };

    public static readonly Option<int?> MaxPending = new("--max-pending")
    {
        Description = $"With --summarize, the cap on messages waiting to be summarized per conversation (ChatMemoryConfig.MaxPendingMessages, " +
            $"1 to {ChatMemoryConfig.MaxPendingMessagesLimit}; past it the oldest are dropped). Default: $CHATMEM_MAX_PENDING, else 1000.",
        Recursive = true,
        CustomParser = r => Number(r, "--max-pending", 1, ChatMemoryConfig.MaxPendingMessagesLimit, wholeNumber: true) is { } n ? (int)n : null,
    };

    public static readonly Option<bool> AllowCustomRoles = new("--allow-custom-roles")
    {
        Description = "Accept roles other than user, assistant, system and tool. Default: $CHATMEM_ALLOW_CUSTOM_ROLES=1, else off.",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On an unexpected error (exit 70), print the whole trace.",
        Recursive = true,
    };

    public static IEnumerable<Option> Global => [Redis, Prefix, MaxTurns, Ttl, DataDir, LockTimeout, PinSystem, ToolAware, Summarize, MaxPending, AllowCustomRoles, Verbose];

    /// <summary>The Redis URL from --redis or CHATMEM_REDIS; <see langword="null"/> means the embedded server.</summary>
    public static string? RedisUrl(ParseResult parsed) =>
        parsed.GetValue(Redis) is { Length: > 0 } url ? url
        : Environment.GetEnvironmentVariable("CHATMEM_REDIS") is { Length: > 0 } env ? env
        : null;

    /// <summary>Parses a number in [min, max], or records one readable error (the default names the CLR type).</summary>
    private static double? Number(ArgumentResult result, string option, double min, double max, bool wholeNumber)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        var style = wholeNumber ? NumberStyles.Integer : NumberStyles.Float;
        if (double.TryParse(text, style, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option} must be a {(wholeNumber ? "whole number" : "number")} between {min} and {max} (was '{text}')"));
        return null;
    }

    /// <summary>The memory settings from the global options; <paramref name="defaultMaxTurns"/> and
    /// <paramref name="defaultTtlSeconds"/> apply when the option is absent.</summary>
    public static ChatMemoryConfig Config(ParseResult parsed, int defaultMaxTurns = 10, double? defaultTtlSeconds = null)
    {
        var ttl = parsed.GetValue(Ttl) ?? defaultTtlSeconds;
        var config = new ChatMemoryConfig
        {
            KeyPrefix = parsed.GetValue(Prefix)!,
            MaxTurns = parsed.GetValue(MaxTurns) ?? defaultMaxTurns,
            Ttl = ttl is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            AllowCustomRoles = Flag(parsed, AllowCustomRoles, "CHATMEM_ALLOW_CUSTOM_ROLES"),
            Window = { PinSystemMessages = Flag(parsed, PinSystem, "CHATMEM_PIN_SYSTEM"), ToolCallAware = Flag(parsed, ToolAware, "CHATMEM_TOOL_AWARE") },
            Summarize = Flag(parsed, Summarize, "CHATMEM_SUMMARIZE"),
        };
        if ((parsed.GetValue(MaxPending) ?? EnvironmentNumber("CHATMEM_MAX_PENDING", "--max-pending", 1, ChatMemoryConfig.MaxPendingMessagesLimit)) is { } cap)
        {
            config.MaxPendingMessages = cap;
        }

        return config;
    }

    /// <summary>A whole number in [min, max] from <paramref name="variable"/>, <see langword="null"/> when it is unset or
    /// empty; anything else is refused (exit 2) naming the variable and the option it stands for.</summary>
    private static int? EnvironmentNumber(string variable, string option, int min, int max)
    {
        if (Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } text)
        {
            return null;
        }

        return int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"${variable} ({option}) must be a whole number between {min} and {max} (was '{text}')"));
    }

    /// <summary>A switch given on the command line, or set to 1/true in <paramref name="variable"/>.</summary>
    private static bool Flag(ParseResult parsed, Option<bool> option, string variable) =>
        parsed.GetValue(option) || Environment.GetEnvironmentVariable(variable) is "1" or "true" or "TRUE" or "True";
}

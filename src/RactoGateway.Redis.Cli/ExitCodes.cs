namespace RactoGateway.Redis.Cli;

/// <summary>What chatmem returns to the shell, by the kind of failure (listed in <c>chatmem --help</c> and docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Redis could not be reached, or stopped answering.</summary>
    public const int Unreachable = 1;

    /// <summary>Bad arguments or input.</summary>
    public const int BadInput = 2;

    /// <summary>The server refused: authentication, permissions (NOPERM), out of memory (OOM), a read-only replica, ...</summary>
    public const int Refused = 3;

    /// <summary>The model (chat) failed.</summary>
    public const int ModelFailed = 4;

    /// <summary>The server lacks what the verb needs: recall needs vector sets (Redis 8 or later, or Garnet started with
    /// --enable-vector-set-preview).</summary>
    public const int Unsupported = 5;

    /// <summary>The data directory is busy: another chatmem held it for all of --lock-timeout (the message says which
    /// process and for how long), or <c>chatmem serve</c> cannot take it (a serve runs on it already, or its port is taken).</summary>
    public const int Busy = 6;

    /// <summary>A bug in chatmem or the library (EX_SOFTWARE); <c>--verbose</c> prints the trace.</summary>
    public const int Bug = 70;

    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;

    /// <summary>The lines <c>chatmem --help</c> ends with.</summary>
    public const string Help = "Exit codes: 0 ok, 1 Redis unreachable, 2 bad input, 3 refused by the server (auth, NOPERM, OOM, READONLY), " +
        "4 the model failed, 5 not supported by the server (recall needs vector sets: Redis 8+, or Garnet with --enable-vector-set-preview), 6 the data directory is busy (another chatmem held it past --lock-timeout; " +
        "chatmem serve lets commands share it), 70 a bug (--verbose prints the trace), 130 interrupted.";
}

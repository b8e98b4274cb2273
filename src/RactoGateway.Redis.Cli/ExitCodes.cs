namespace RactoGateway.Redis.Cli;

/// <summary>What chatmem returns to the shell.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Redis could not be reached (or failed while talking to it).</summary>
    public const int Unreachable = 1;

    /// <summary>Bad arguments or input.</summary>
    public const int BadInput = 2;

    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;
}

using System.Diagnostics;

namespace RactoGateway.Redis.Tests;

/// <summary>Starts tests/RactoGateway.Load (built beside the tests) as a process of its own, stdout and stderr
/// redirected; the caller stops it by its pid.</summary>
internal static class LoadProcess
{
    public static Process Start(IEnumerable<string> args, bool redirectInput = false)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RactoGateway.Load.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("the load process did not start");
    }

    /// <summary>Waits for <paramref name="process"/> to exit; past <paramref name="within"/> it is killed by its own pid
    /// (and waited for), and the result is false.</summary>
    public static async Task<bool> WaitForExitOrKillAsync(Process process, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
            return false;
        }
    }
}

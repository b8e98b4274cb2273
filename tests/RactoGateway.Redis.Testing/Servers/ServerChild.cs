using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// Starts a server as a child process and waits until it answers; what <see cref="RedisServerProcess"/> and
/// <see cref="GarnetServerProcess"/> share: the last lines of its output for the error of a failed start, the pid file
/// scripts/test.sh reads to stop leftovers, and a kill by pid of every child still running when this process exits.
/// </summary>
internal static class ServerChild
{
    /// <summary>Every server child this process started and has not stopped yet.</summary>
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    static ServerChild() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        // A safety net for servers a test or the shared fixture did not stop (the runner may cut the shared
        // fixture's orderly shutdown short): SIGKILL each by its own pid, without waiting.
        foreach (var process in Running.Values)
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
        }
    };

    /// <summary>Starts <paramref name="start"/> (its output is redirected here), then waits with
    /// <paramref name="waitUntilReady"/>; a start that fails throws <see cref="InvalidOperationException"/> with the
    /// child's last lines, and the child is killed.</summary>
    /// <param name="start">The command; stdout and stderr are redirected by this method.</param>
    /// <param name="what">"redis-server", "garnet": for messages.</param>
    /// <param name="waitUntilReady">Given the started process; throws TimeoutException or InvalidOperationException.</param>
    public static async Task<Process> StartAsync(ProcessStartInfo start, string what, Func<Process, Task> waitUntilReady)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{what} did not start.");
        var log = new ConcurrentQueue<string>();
        void Keep(string? line)
        {
            if (line is not null)
            {
                log.Enqueue(line);
                while (log.Count > 20 && log.TryDequeue(out _))
                {
                }
            }
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Running[process.Id] = process;
        // scripts/test.sh names a folder here and, after the run, stops by pid any server the runner cut short; the
        // file holds the process's name as /proc/<pid>/comm shows it, so that a pid reused since is never stopped.
        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_PIDS") is { Length: > 0 } pids)
        {
            var comm = Path.GetFileName(start.FileName);
            File.WriteAllText(Path.Combine(pids, process.Id.ToString(CultureInfo.InvariantCulture)), comm.Length > 15 ? comm[..15] : comm);
        }

        try
        {
            await waitUntilReady(process);
            return process;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var state = process.HasExited ? $"exited with {process.ExitCode}" : $"running as pid {process.Id}";
            Stop(process);
            throw new InvalidOperationException($"{ex.Message} {what} was {state}; its last lines:\n{string.Join('\n', log)}", ex);
        }
    }

    /// <summary>SIGKILL on the child's pid, then waits for it: no shutdown, no final save, as a crash would.</summary>
    public static void Stop(Process process)
    {
        Running.TryRemove(process.Id, out _);
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }

        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_PIDS") is { Length: > 0 } pids)
        {
            File.Delete(Path.Combine(pids, process.Id.ToString(CultureInfo.InvariantCulture)));
        }

        process.Dispose();
    }
}

using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Embeddings;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem serve [--port N]</c>: the embedded Garnet (Lua, vector sets: everything recall needs) over --data-dir as a
/// server on 127.0.0.1, until Ctrl-C or SIGTERM. It prints <c>listening on 127.0.0.1:PORT</c> and the URL an application
/// connects with; while it runs, every other chatmem command on the same data directory without --redis finds it
/// (<see cref="RunningServe"/>) and connects to it instead of starting a server of its own and waiting for the data
/// lock, so several run at once. On a signal it stops the server (which commits the append-only file: the data stays,
/// as after any command) and exits 0.
/// </summary>
internal static class ServeCommand
{
    /// <summary>The port serve listens on by default: near Redis's 6379, past the 6379 to 6389 that local setups of several
    /// servers usually count up through. Not guaranteed free: --port 0 picks a free one.</summary>
    public const int DefaultPort = 6390;

    public static Command Create()
    {
        var port = new Option<int>("--port")
        {
            Description = $"The loopback port to listen on (default {DefaultPort}; 0 picks a free one, printed at start).",
            DefaultValueFactory = _ => DefaultPort,
            CustomParser = r => int.TryParse(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 65535
                ? n : Error(r, $"--port must be a whole number between 0 and 65535 (was '{(r.Tokens.Count > 0 ? r.Tokens[0].Value : "")}')"),
        };
        var command = new Command("serve", "Run the embedded Garnet server (Lua, vector sets for recall) over --data-dir on 127.0.0.1 until Ctrl-C " +
            "or SIGTERM, and print the URL an application connects with. While it runs, chatmem commands on the same --data-dir " +
            "without --redis use it, so they run at once and start fast. The data stays when it stops.")
        {
            port,
        };
        command.SetAction(async (parsed, ct) =>
        {
            if (CliOptions.RedisUrl(parsed) is not null)
            {
                return MemorySession.Fail(ExitCodes.BadInput, "serve runs the embedded server over --data-dir; --redis (or CHATMEM_REDIS) names another server", null);
            }

            var dataDir = parsed.GetValue(CliOptions.DataDir)!;
            if (RunningServe.Find(dataDir) is { } running)
            {
                return AlreadyServed(dataDir, running);
            }

            EmbeddedGarnet? garnet;
            var requested = parsed.GetValue(port);
            try
            {
                garnet = EmbeddedGarnet.Start(dataDir, "serve", MemorySession.LockTimeout(parsed), requested == 0 ? null : requested,
                    stopWaiting: () => RunningServe.Find(dataDir) is not null);
            }
            catch (Exception ex) when (EmbeddedGarnet.IsPortTaken(ex))
            {
                return MemorySession.Fail(ExitCodes.Busy, $"cannot listen on 127.0.0.1:{requested}: the port is in use (--port 0 picks a free one)", null);
            }
            catch (DataLockTimeoutException ex)
            {
                return MemorySession.Fail(ExitCodes.Busy, $"cannot use data directory {dataDir}: {ex.Message}", null);
            }
            catch (ArgumentException ex)
            {
                return MemorySession.Fail(ExitCodes.BadInput, ex.Message, null);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return MemorySession.Fail(ExitCodes.Unreachable, $"cannot use data directory {dataDir}: {ex.Message}", null);
            }

            if (garnet is null)
            {
                return RunningServe.Find(dataDir) is { } other ? AlreadyServed(dataDir, other)
                    : MemorySession.Fail(ExitCodes.Busy, $"another chatmem serve took {dataDir} meanwhile", null);
            }

            using var embeddings = new MiniLMEmbeddingGenerator();
            using (garnet)
            {
                garnet.ServeEmbeddings(embeddings);
                RunningServe.Write(dataDir, garnet.Endpoint);
                try
                {
                    Console.WriteLine($"listening on {garnet.Endpoint}");
                    Console.WriteLine($"url redis://{garnet.Endpoint}");
                    Console.WriteLine($"An application connects with redis://{garnet.Endpoint} (e.g. new RedisChatMemory(\"{garnet.Endpoint}\")); " +
                        $"chatmem commands without --redis on {dataDir} use this server while it runs. Ctrl-C or SIGTERM stops it; the data stays.");
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
                finally
                {
                    // First no newcomer finds it, then the server stops (committing its append-only file), then the lock goes.
                    RunningServe.Delete(dataDir);
                }
            }

            Console.WriteLine($"stopped; the data stays in {dataDir}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static int AlreadyServed(string dataDir, (string Endpoint, int Pid) running) =>
        MemorySession.Fail(ExitCodes.Busy, string.Create(CultureInfo.InvariantCulture,
            $"chatmem serve, pid {running.Pid}, already serves {dataDir} at redis://{running.Endpoint}: connect there (chatmem commands on this data directory already do)"), null);

    private static int Error(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return 0;
    }
}

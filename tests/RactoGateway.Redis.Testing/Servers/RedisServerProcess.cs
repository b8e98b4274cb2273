using System.Diagnostics;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>A <c>redis-server</c> child process on a free loopback port, stopped by its own pid.</summary>
public sealed class RedisServerProcess : ITestServer
{
    private readonly string[] _extraArgs;
    private readonly bool _tlsOnly;
    private Process? _process;

    /// <summary>Every redis-server this test process started and has not stopped yet.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Process> Running = new();

    static RedisServerProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
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

    private RedisServerProcess(int port, string[] extraArgs, bool tlsOnly = false)
    {
        _extraArgs = extraArgs;
        _tlsOnly = tlsOnly;
        Port = port;
        DataDir = Directory.CreateTempSubdirectory("chatmem-redis-").FullName;
    }

    /// <inheritdoc />
    public string Name => "redis";

    /// <inheritdoc />
    public int Port { get; }

    /// <summary>The server's working directory (AOF/RDB files live here).</summary>
    public string DataDir { get; }

    /// <summary>Whether the child process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The child's pid (it is stopped by this pid, never by name).</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("The server is not running.");

    /// <summary>Starts a new server; <paramref name="extraArgs"/> are added to redis-server's command line. A port that
    /// another process took between the check and the bind (another test assembly's server, say) is given up for
    /// another, twice at most.</summary>
    public static async Task<RedisServerProcess> StartNewAsync(params string[] extraArgs)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartNewAt(extraArgs.Contains("--cluster-enabled") ? Loopback.FreePortWithClusterBus() : Loopback.FreePort(), extraArgs);
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    /// <summary>Starts a new server on <paramref name="port"/>.</summary>
    public static async Task<RedisServerProcess> StartNewAt(int port, params string[] extraArgs)
    {
        var server = new RedisServerProcess(port, extraArgs);
        await server.StartAsync();
        return server;
    }

    /// <summary>
    /// Starts a server that speaks only TLS on its port (<c>--port 0 --tls-port</c>), with the certificate, key and CA
    /// in <paramref name="certDir"/> (server.crt, server.key, ca.crt).
    /// </summary>
    public static async Task<RedisServerProcess> StartNewTlsAsync(string certDir, params string[] extraArgs)
    {
        var port = Loopback.FreePort();
        var server = new RedisServerProcess(port, [
            "--port", "0", "--tls-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tls-cert-file", Path.Combine(certDir, "server.crt"), "--tls-key-file", Path.Combine(certDir, "server.key"),
            "--tls-ca-cert-file", Path.Combine(certDir, "ca.crt"), "--tls-auth-clients", "no", .. extraArgs], tlsOnly: true);
        await server.StartAsync();
        return server;
    }

    /// <summary>The path of redis-server; throws when it is missing (a missing server fails the run, never skips it).</summary>
    public static string Executable =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-server is not installed: run scripts/test.sh, which installs it with apt-get.");

    /// <inheritdoc />
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = DataDir,
        };
        foreach (var arg in (string[])["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--daemonize", "no", "--dir", DataDir, .. _extraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        // The server's last lines, for the message of a start that fails (a bind error, say).
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
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
        _process = process;
        Running[process.Id] = process;
        // scripts/test.sh names a folder here and, after the run, stops by pid any server the runner cut short.
        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_PIDS") is { Length: > 0 } pids)
        {
            File.WriteAllText(Path.Combine(pids, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), "redis-server");
        }
        try
        {
            if (_tlsOnly)
            {
                await Loopback.WaitForListenerAsync(Port, TimeSpan.FromSeconds(15), () => !process.HasExited);
            }
            else
            {
                await Loopback.WaitForPingAsync(Port, TimeSpan.FromSeconds(15), () => !process.HasExited, process.Id);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var state = process.HasExited ? $"exited with {process.ExitCode}" : $"running as pid {process.Id}";
            throw new InvalidOperationException($"{ex.Message} redis-server is {state}; its last lines:\n{string.Join('\n', log)}", ex);
        }
    }

    /// <summary>Stops the server with SIGKILL (Process.Kill on its pid): no shutdown, no final save, as a crash would.</summary>
    public Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            Running.TryRemove(process.Id, out _);
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }

            process.Dispose();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

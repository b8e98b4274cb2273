using System.Diagnostics;
using System.Globalization;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>A <c>redis-server</c> (or Redis 8's, or <c>valkey-server</c>) child process on a free loopback port, stopped
/// by its own pid; or, attached, one that another process started and owns (see <see cref="Attach"/>).</summary>
public sealed class RedisServerProcess : ITestServer
{
    /// <summary>The variable scripts/test.sh sets to the Redis 8 redis-server it built (with vector sets).</summary>
    public const string Redis8Variable = "CHATMEM_REDIS8_SERVER";

    /// <summary>The variable scripts/test.sh sets to the Valkey 8 valkey-server it installed.</summary>
    public const string ValkeyVariable = "CHATMEM_VALKEY_SERVER";

    private readonly string _executable;
    private readonly string[] _extraArgs;
    private readonly bool _tlsOnly;
    private readonly bool _attached;
    private Process? _process;

    private RedisServerProcess(string name, string executable, int port, string[] extraArgs, bool tlsOnly = false, bool attached = false)
    {
        Name = name;
        _executable = executable;
        _extraArgs = extraArgs;
        _tlsOnly = tlsOnly;
        _attached = attached;
        Port = port;
        DataDir = attached ? "" : Directory.CreateTempSubdirectory("chatmem-redis-").FullName;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Port { get; }

    /// <summary>The server's working directory (AOF/RDB files live here); empty when attached.</summary>
    public string DataDir { get; }

    /// <summary>Whether the child process is running (always true when attached: its owner keeps it running).</summary>
    public bool IsRunning => _attached || _process is { HasExited: false };

    /// <summary>The child's pid (it is stopped by this pid, never by name).</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("The server is not running, or is not this process's child.");

    /// <summary>Starts a new redis-server (Debian's, 7.0); <paramref name="extraArgs"/> are added to its command line.</summary>
    public static Task<RedisServerProcess> StartNewAsync(params string[] extraArgs) => StartNamedAsync("redis", extraArgs);

    /// <summary>Starts a new server of the kind <paramref name="name"/> names ("redis", "redis8", "valkey"; see
    /// <see cref="ExecutableFor"/>). A port that another process took between the check and the bind (another test
    /// assembly's server, say) is given up for another, twice at most.</summary>
    public static async Task<RedisServerProcess> StartNamedAsync(string name, params string[] extraArgs)
    {
        var executable = ExecutableFor(name);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var port = extraArgs.Contains("--cluster-enabled") ? Loopback.FreePortWithClusterBus() : Loopback.FreePort();
                var server = new RedisServerProcess(name, executable, port, extraArgs);
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    /// <summary>Starts a new redis-server on <paramref name="port"/>.</summary>
    public static async Task<RedisServerProcess> StartNewAt(int port, params string[] extraArgs)
    {
        var server = new RedisServerProcess("redis", Executable, port, extraArgs);
        await server.StartAsync();
        return server;
    }

    /// <summary>A server on <paramref name="port"/> that another process started and owns (the run's shared servers,
    /// see <see cref="TestServers"/>): <see cref="StartAsync"/> and <see cref="StopAsync"/> throw, disposing does nothing.</summary>
    public static RedisServerProcess Attach(string name, int port) => new(name, "", port, [], attached: true);

    /// <summary>
    /// Starts a redis-server that speaks only TLS on its port (<c>--port 0 --tls-port</c>), with the certificate, key and CA
    /// in <paramref name="certDir"/> (server.crt, server.key, ca.crt).
    /// </summary>
    public static async Task<RedisServerProcess> StartNewTlsAsync(string certDir, params string[] extraArgs)
    {
        var port = Loopback.FreePort();
        var server = new RedisServerProcess("redis", Executable, port, [
            "--port", "0", "--tls-port", port.ToString(CultureInfo.InvariantCulture),
            "--tls-cert-file", Path.Combine(certDir, "server.crt"), "--tls-key-file", Path.Combine(certDir, "server.key"),
            "--tls-ca-cert-file", Path.Combine(certDir, "ca.crt"), "--tls-auth-clients", "no", .. extraArgs], tlsOnly: true);
        await server.StartAsync();
        return server;
    }

    /// <summary>The path of Debian's redis-server; throws when it is missing (a missing server fails the run, never skips it).</summary>
    public static string Executable =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-server is not installed: run scripts/test.sh, which installs it with apt-get.");

    /// <summary>The server program for <paramref name="name"/>: "redis" is Debian's redis-server; "redis8" and "valkey"
    /// are the programs scripts/test.sh builds or installs and names in <see cref="Redis8Variable"/> and
    /// <see cref="ValkeyVariable"/>. A missing one throws: a server of the matrix is never skipped.</summary>
    public static string ExecutableFor(string name)
    {
        var variable = name switch
        {
            "redis" => null,
            "redis8" => Redis8Variable,
            "valkey" => ValkeyVariable,
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not a redis-server kind: redis, redis8 or valkey."),
        };
        if (variable is null)
        {
            return Executable;
        }

        var path = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException($"{variable} is not set: scripts/test.sh builds or installs the {name} server and sets it (or run scripts/test-servers.sh and export what it prints).");
        }

        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{variable} names {path}, which does not exist: run scripts/test.sh, which builds or installs the {name} server.");
    }

    /// <inheritdoc />
    public async Task StartAsync()
    {
        ThrowIfAttached();
        var start = new ProcessStartInfo(_executable) { WorkingDirectory = DataDir };
        foreach (var arg in (string[])["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--daemonize", "no", "--dir", DataDir, .. _extraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        _process = await ServerChild.StartAsync(start, Path.GetFileName(_executable), process => _tlsOnly
            ? Loopback.WaitForListenerAsync(Port, TimeSpan.FromSeconds(15), () => !process.HasExited)
            : Loopback.WaitForPingAsync(Port, TimeSpan.FromSeconds(15), () => !process.HasExited, process.Id));
    }

    /// <summary>Stops the server with SIGKILL (Process.Kill on its pid): no shutdown, no final save, as a crash would.</summary>
    public Task StopAsync()
    {
        ThrowIfAttached();
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            ServerChild.Stop(process);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_attached)
        {
            return;
        }

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

    private void ThrowIfAttached()
    {
        if (_attached)
        {
            throw new InvalidOperationException(SharedServer.NeverStopped(Name));
        }
    }
}

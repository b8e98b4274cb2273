using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Garnet.common;
using Microsoft.Extensions.Logging.Abstractions;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// A Garnet server inside the chatmem process, on a free loopback port, so that chatmem needs no setup. With a data
/// directory it persists (append-only file committed on every write, recovered at start), so one chatmem process sees
/// what the previous one wrote. Its banner and logs never reach stdout.
/// </summary>
internal sealed class EmbeddedGarnet : IDisposable
{
    /// <summary>How long a second chatmem waits for the data directory by default (CHATMEM_LOCK_TIMEOUT overrides it).
    /// Generous: processes started together take turns, each starting and stopping a server (six took 51 s on a busy
    /// 2-core machine); a waiting chatmem says what it waits for after a second, and Ctrl-C stops it.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The environment variable that sets the lock timeout, in seconds.</summary>
    public const string LockTimeoutVariable = "CHATMEM_LOCK_TIMEOUT";

    private readonly GarnetServer _server;
    private readonly DataLock? _lock;

    private EmbeddedGarnet(GarnetServer server, int port, DataLock? dataLock)
    {
        _server = server;
        _lock = dataLock;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Serves MiniLM embeddings to other chatmem processes (see <see cref="ServedEmbeddings"/>).</summary>
    public void ServeEmbeddings(RactoGateway.Redis.Embeddings.MiniLMEmbeddingGenerator generator) => ServedEmbeddings.Register(_server, generator);

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts the server; <paramref name="dataDir"/> <see langword="null"/> keeps everything in memory.</summary>
    /// <param name="dataDir">Where the data lives, or <see langword="null"/> for memory only.</param>
    /// <param name="verb">The chatmem verb, written beside the lock so that a waiting chatmem can name it; default: read
    /// from the command line.</param>
    /// <param name="lockTimeout">How long to wait for another chatmem holding <paramref name="dataDir"/>; default:
    /// CHATMEM_LOCK_TIMEOUT seconds, else <see cref="DefaultLockTimeout"/>.</param>
    /// <param name="port">The loopback port to listen on; <see langword="null"/> for a free one.</param>
    /// <param name="stopWaiting">Asked between tries while another chatmem holds <paramref name="dataDir"/>: whether to
    /// stop waiting (a <c>chatmem serve</c> now serves it).</param>
    /// <returns>The server; <see langword="null"/> when <paramref name="stopWaiting"/> said to stop waiting.</returns>
    /// <exception cref="ArgumentException">The data directory is a file, or CHATMEM_LOCK_TIMEOUT is not a number of seconds.</exception>
    /// <exception cref="DataLockTimeoutException">Another chatmem holds the data directory for too long.</exception>
    /// <exception cref="IOException">The data directory cannot be created or used.</exception>
    /// <exception cref="GarnetException"><paramref name="port"/> is taken (inner: <see cref="SocketException"/>).</exception>
    public static EmbeddedGarnet? Start(string? dataDir, string? verb = null, TimeSpan? lockTimeout = null, int? port = null, Func<bool>? stopWaiting = null)
    {
        List<string> persistence = [];
        DataLock? dataLock = null;
        if (dataDir is not null)
        {
            if (File.Exists(dataDir))
            {
                // Bad input (exit 2), not an unusable server: the user named a file.
                throw new ArgumentException($"cannot use data directory {dataDir}: is not a directory");
            }

            var timeout = lockTimeout ?? LockTimeoutFromEnvironment() ?? DefaultLockTimeout;
            var checkpoints = Directory.CreateDirectory(Path.Combine(dataDir, "checkpoints")).FullName;
            var logs = Directory.CreateDirectory(Path.Combine(dataDir, "log")).FullName;
            // Two servers on one append-only file each replay only their own writes: chatmem processes take turns.
            dataLock = DataLock.Acquire(dataDir, verb ?? VerbFromCommandLine(), timeout, stopWaiting);
            if (dataLock is null)
            {
                return null;
            }

            // Whoever holds the lock is the only server of this directory: a serve record found now was left by a serve
            // that was killed.
            RunningServe.Delete(dataDir);
            // RandomAccess: the default native device needs libaio, which Debian lacks, and then recovery silently fails.
            persistence = ["--storage-tier", "--device-type", "RandomAccess", "--aof", "--aof-commit-freq", "0", "--recover",
                "--checkpointdir", checkpoints, "--logdir", logs];
        }

        try
        {
            // The free port can be taken between probing and binding: try a few.
            for (var attempt = 1; ; attempt++)
            {
                var listen = port ?? FreePort();
                try
                {
                    return new EmbeddedGarnet(Silently(() => StartServer(listen, persistence)), listen, dataLock);
                }
                catch (GarnetException ex) when (port is null && attempt < 3 && IsPortTaken(ex))
                {
                }
            }
        }
        catch
        {
            dataLock?.Dispose();
            throw;
        }
    }

    /// <summary>Whether <see cref="Start"/> failed because its port is taken.</summary>
    public static bool IsPortTaken(Exception ex) =>
        ex is GarnetException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } };

    /// <summary>Stops the server (which commits the append-only file), then lets the next chatmem in.</summary>
    public void Dispose()
    {
        Silently(() =>
        {
            _server.Dispose();
            return 0;
        });
        _lock?.Dispose();
    }

    private static GarnetServer StartServer(int port, List<string> persistence)
    {
        var server = new GarnetServer(
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "--memory", "64m",
                // Vector sets (VADD/VSIM) for long-term recall: Garnet 2.2.8 has them behind this flag.
                "--enable-vector-set-preview", .. persistence],
            NullLoggerFactory.Instance);
        try
        {
            server.Start();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Garnet 2.2 has no --quiet and prints its banner with Console.Out: silence it meanwhile.</summary>
    private static T Silently<T>(Func<T> action)
    {
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            return action();
        }
        finally
        {
            Console.SetOut(stdout);
        }
    }

    /// <summary>CHATMEM_LOCK_TIMEOUT in seconds (0 means do not wait), or <see langword="null"/> when unset.</summary>
    private static TimeSpan? LockTimeoutFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(LockTimeoutVariable) is not { Length: > 0 } text)
        {
            return null;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"{LockTimeoutVariable} must be a number of seconds between 0 and 86400 (was '{text}')");
    }

    /// <summary>The verb on chatmem's command line: the first argument that is neither a global option nor its value.
    /// Only a fallback for callers that do not pass the verb (never the whole command line: it may hold a key).</summary>
    private static string VerbFromCommandLine()
    {
        var valued = CliOptions.Global.Where(o => o.GetType() != typeof(Option<bool>)).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var args = Environment.GetCommandLineArgs();
        for (var i = 1; i < args.Length; i++)
        {
            if (valued.Contains(args[i]))
            {
                i++;
            }
            else if (!args[i].StartsWith('-'))
            {
                return args[i];
            }
        }

        return "chatmem";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

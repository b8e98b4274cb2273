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
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(30);

    private readonly GarnetServer _server;
    private readonly FileStream? _lock;

    private EmbeddedGarnet(GarnetServer server, int port, FileStream? dataLock)
    {
        _server = server;
        _lock = dataLock;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts the server; <paramref name="dataDir"/> <see langword="null"/> keeps everything in memory.</summary>
    /// <exception cref="IOException">The data directory cannot be created, or another chatmem holds it for too long.</exception>
    public static EmbeddedGarnet Start(string? dataDir)
    {
        List<string> persistence = [];
        FileStream? dataLock = null;
        if (dataDir is not null)
        {
            var checkpoints = Directory.CreateDirectory(Path.Combine(dataDir, "checkpoints")).FullName;
            var logs = Directory.CreateDirectory(Path.Combine(dataDir, "log")).FullName;
            // Two servers on one append-only file each replay only their own writes: chatmem processes take turns.
            dataLock = AcquireLock(Path.Combine(dataDir, "chatmem.lock"));
            // RandomAccess: the default native device needs libaio, which Debian lacks, and then recovery silently fails.
            persistence = ["--storage-tier", "--device-type", "RandomAccess", "--aof", "--aof-commit-freq", "0", "--recover",
                "--checkpointdir", checkpoints, "--logdir", logs];
        }

        try
        {
            // The free port can be taken between probing and binding: try a few.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                try
                {
                    return new EmbeddedGarnet(Silently(() => StartServer(port, persistence)), port, dataLock);
                }
                catch (GarnetException ex) when (attempt < 3 && ex.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
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
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua", "--memory", "64m", .. persistence],
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

    /// <summary>An exclusive lock on <paramref name="path"/> (FileShare.None is an flock on Unix), waiting for its holder.</summary>
    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex) when (IsHeldElsewhere(ex) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException ex) when (IsHeldElsewhere(ex))
            {
                throw new IOException($"another chatmem process has held it for {LockWait.TotalSeconds:0} s", ex);
            }
        }
    }

    // EWOULDBLOCK from flock (11 on Linux, 35 on macOS); sharing or lock violation on Windows.
    private static bool IsHeldElsewhere(IOException ex) => ex.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

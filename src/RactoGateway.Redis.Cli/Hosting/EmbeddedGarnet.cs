using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging.Abstractions;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// A Garnet server inside the chatmem process, on a free loopback port, so that chatmem needs no setup. With a data
/// directory it persists (append-only file committed on every write, recovered at start), so one chatmem process sees
/// what the previous one wrote. Its banner and logs never reach stdout.
/// </summary>
internal sealed class EmbeddedGarnet : IDisposable
{
    private readonly GarnetServer _server;

    private EmbeddedGarnet(GarnetServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Starts the server; <paramref name="dataDir"/> <see langword="null"/> keeps everything in memory.</summary>
    public static EmbeddedGarnet Start(string? dataDir)
    {
        var port = FreePort();
        List<string> args = ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua", "--memory", "64m"];
        if (dataDir is not null)
        {
            var checkpoints = Directory.CreateDirectory(Path.Combine(dataDir, "checkpoints")).FullName;
            var logs = Directory.CreateDirectory(Path.Combine(dataDir, "log")).FullName;
            // RandomAccess: the default native device needs libaio, which Debian lacks, and then recovery silently fails.
            args.AddRange(["--storage-tier", "--device-type", "RandomAccess", "--aof", "--aof-commit-freq", "0", "--recover",
                "--checkpointdir", checkpoints, "--logdir", logs]);
        }

        // Garnet 2.2 has no --quiet and prints a banner with Console.Out: silence it while the server starts.
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            var server = new GarnetServer([.. args], NullLoggerFactory.Instance);
            server.Start();
            return new EmbeddedGarnet(server, port);
        }
        finally
        {
            Console.SetOut(stdout);
        }
    }

    public void Dispose()
    {
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            _server.Dispose();
        }
        finally
        {
            Console.SetOut(stdout);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// How a <c>chatmem serve</c> is found by the other chatmem commands on the same data directory: while it runs, serve
/// keeps <c>chatmem.serve</c> beside the data lock, one line <c>127.0.0.1:PORT pid N</c>, written (atomically) once its
/// server listens and deleted before it stops. A command without <c>--redis</c> reads it, checks that the process lives
/// and the port answers <c>PING</c>, and connects there instead of starting a server of its own (and waiting for the
/// lock). A file left by a serve that was killed is ignored (and replaced or deleted by the next holder of the lock).
/// Any code that needs the data directory's server (every verb, an MCP server) goes through <see cref="Find"/>.
/// </summary>
internal static class RunningServe
{
    private const string FileName = "chatmem.serve";

    /// <summary>How long the <c>PING</c> may take: a serve that does not answer in this time is treated as absent.</summary>
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The running serve of <paramref name="dataDir"/> that answers, or <see langword="null"/>.</summary>
    /// <returns>Its endpoint (<c>127.0.0.1:PORT</c>) and pid.</returns>
    public static (string Endpoint, int Pid)? Find(string dataDir)
    {
        string line;
        try
        {
            line = File.ReadAllText(Path.Combine(dataDir, FileName)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var parts = line.Split(' ');
        if (parts is not [var endpoint, "pid", var pidText]
            || !int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !IPEndPoint.TryParse(endpoint, out var address) || !IPAddress.IsLoopback(address.Address) || address.Port == 0
            || !IsAlive(pid) || !Answers(address))
        {
            return null;
        }

        return (endpoint, pid);
    }

    /// <summary>Records the serve of this process (which holds the data lock) at <paramref name="endpoint"/>.</summary>
    public static void Write(string dataDir, string endpoint)
    {
        var path = Path.Combine(dataDir, FileName);
        var temporary = $"{path}.{Environment.ProcessId}";
        File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture, $"{endpoint} pid {Environment.ProcessId}\n"));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Deletes the record: by the serve when it stops, or by any holder of the data lock (a record it finds then
    /// was left by a serve that was killed).</summary>
    public static void Delete(string dataDir)
    {
        try
        {
            File.Delete(Path.Combine(dataDir, FileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="endpoint"/> answers <c>PING</c> with <c>+PONG</c> within <see cref="PingTimeout"/>.</summary>
    private static bool Answers(IPEndPoint endpoint)
    {
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = new CancellationTokenSource(PingTimeout);
            socket.ConnectAsync(endpoint, timeout.Token).AsTask().GetAwaiter().GetResult();
            socket.Send("*1\r\n$4\r\nPING\r\n"u8);
            var reply = new byte[7];
            var read = 0;
            while (read < reply.Length)
            {
                var n = socket.ReceiveAsync(reply.AsMemory(read), SocketFlags.None, timeout.Token).AsTask().GetAwaiter().GetResult();
                if (n == 0)
                {
                    return false;
                }

                read += n;
            }

            return Encoding.ASCII.GetString(reply) == "+PONG\r\n";
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }
}

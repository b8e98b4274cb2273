using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RactoGateway.Redis.Testing.Servers;

public static class Loopback
{
    // Ports handed out in this process: a test whose server is down for a while (an outage, a failover) keeps its port,
    // and no other test may be given it meanwhile.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> Given = new();

    /// <summary>
    /// A port nobody listens on right now, below the kernel's ephemeral range with room for a cluster bus port
    /// (port + 10000) below it too, never handed out twice in this process. Why not the OS's pick (port 0): that is an
    /// ephemeral port, which any outgoing connection may take while a test's server is down, including the client's own
    /// reconnect to it (TCP connects a socket to itself when its ephemeral port equals the port it dials); the restarted
    /// server then cannot bind it (seen in CI: no PONG within 15 s after a restart on port 32947).
    /// </summary>
    public static int FreePort()
    {
        var top = EphemeralLow() - 10001;
        for (var attempt = 0; top > 10000 && attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(10000, top + 1);
            if (IsFree(port) && Given.TryAdd(port, true))
            {
                return port;
            }
        }

        // A kernel whose ephemeral range starts low leaves no such room: take the OS's pick.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A free port whose cluster bus port (port + 10000, which a Redis Cluster node also binds) is free too:
    /// without the check, a node now and then failed to start because another process held its bus port.</summary>
    public static int FreePortWithClusterBus()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            if (port + 10000 <= IPEndPoint.MaxPort && IsFree(port + 10000))
            {
                return port;
            }

            if (attempt == 100)
            {
                throw new InvalidOperationException("No free loopback port with a free cluster bus port (port + 10000) in 100 tries.");
            }
        }
    }

    /// <summary>The first port of the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range; 32768
    /// elsewhere, the IANA-ish default).</summary>
    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits until something accepts TCP connections on <paramref name="port"/> (for TLS-only servers).</summary>
    public static async Task WaitForListenerAsync(int port, TimeSpan timeout, Func<bool> stillRunning)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (!stillRunning())
            {
                throw new InvalidOperationException($"The server on port {port} exited before listening.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"Nothing listened on 127.0.0.1:{port} within {timeout}.");
    }

    /// <summary>Waits until a server on <paramref name="port"/> answers PING with +PONG (or -NOAUTH: it is up, just locked).
    /// With <paramref name="pid"/>, it sends INFO instead and waits until the answer comes from that process: a
    /// redis-server that cannot bind its port exits, while whatever else holds the port would answer in its place.</summary>
    public static async Task WaitForPingAsync(int port, TimeSpan timeout, Func<bool>? stillRunning = null, int? pid = null)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        var request = pid is null ? "PING\r\n"u8.ToArray() : "INFO server\r\n"u8.ToArray();
        while (clock.Elapsed < timeout)
        {
            if (stillRunning is not null && !stillRunning())
            {
                throw new InvalidOperationException($"The server on port {port} exited before answering PING.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                var stream = client.GetStream();
                await stream.WriteAsync(request);
                var reply = await ReadReplyAsync(stream, pid is null ? "\r\n" : "process_id:");
                if (reply.StartsWith("-NOAUTH", StringComparison.Ordinal) || (pid is null && reply.StartsWith("+PONG", StringComparison.Ordinal))
                    || (pid is not null && reply.Contains($"process_id:{pid}\r\n", StringComparison.Ordinal)))
                {
                    return;
                }

                last = new InvalidOperationException($"port {port} answered '{reply.Split('\n').FirstOrDefault(l => l.StartsWith("process_id:", StringComparison.Ordinal) || l.StartsWith('+') || l.StartsWith('-'))?.Trim()}'");
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
                last = ex;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No PONG from 127.0.0.1:{port} within {timeout}.", last);
    }

    /// <summary>Reads until the reply holds <paramref name="until"/> and the line after it ends, or is an error, or 2 s pass.</summary>
    private static async Task<string> ReadReplyAsync(NetworkStream stream, string until)
    {
        var reply = new StringBuilder();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("no complete reply within 2 s");
            }

            if (read == 0)
            {
                return reply.ToString();
            }

            reply.Append(Encoding.ASCII.GetString(buffer, 0, read));
            var text = reply.ToString();
            var at = text.IndexOf(until, StringComparison.Ordinal);
            if (text.StartsWith('-') || (at >= 0 && text.IndexOf("\r\n", at, StringComparison.Ordinal) >= 0))
            {
                return text;
            }
        }
    }
}

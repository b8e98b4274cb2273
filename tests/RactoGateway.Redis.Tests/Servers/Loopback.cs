using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RactoGateway.Redis.Tests.Servers;

internal static class Loopback
{
    /// <summary>A port nobody listens on right now (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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

    /// <summary>Waits until a server on <paramref name="port"/> answers PING with +PONG (or -NOAUTH: it is up, just locked).</summary>
    public static async Task WaitForPingAsync(int port, TimeSpan timeout, Func<bool>? stillRunning = null)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
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
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
                var reply = Encoding.ASCII.GetString(buffer, 0, read);
                if (reply.StartsWith("+PONG", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH", StringComparison.Ordinal))
                {
                    return;
                }

                last = new InvalidOperationException($"PING answered '{reply.Trim()}'");
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
                last = ex;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No PONG from 127.0.0.1:{port} within {timeout}.", last);
    }
}

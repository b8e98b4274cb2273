using Garnet;
using Microsoft.Extensions.Logging.Abstractions;

namespace RactoGateway.Redis.Tests.Servers;

/// <summary>Microsoft Garnet hosted in the test process on a free loopback port, with Lua enabled.</summary>
public sealed class GarnetServerHost : ITestServer
{
    private GarnetServer? _server;

    private GarnetServerHost() => Port = Loopback.FreePort();

    /// <inheritdoc />
    public string Name => "garnet";

    /// <inheritdoc />
    public int Port { get; }

    /// <summary>Starts a new in-process Garnet server.</summary>
    public static async Task<GarnetServerHost> StartNewAsync()
    {
        var host = new GarnetServerHost();
        await host.StartAsync();
        return host;
    }

    /// <inheritdoc />
    public async Task StartAsync()
    {
        var server = new GarnetServer(["--port", Port.ToString(), "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "--memory", "64m"], NullLoggerFactory.Instance);
        server.Start();
        _server = server;
        await Loopback.WaitForPingAsync(Port, TimeSpan.FromSeconds(15));
    }

    /// <inheritdoc />
    public Task StopAsync()
    {
        var server = Interlocked.Exchange(ref _server, null);
        server?.Dispose();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync();
}

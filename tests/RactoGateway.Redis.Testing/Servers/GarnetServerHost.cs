using Garnet;
using Microsoft.Extensions.Logging.Abstractions;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>Microsoft Garnet hosted in the test process on a free loopback port, with Lua enabled.</summary>
public sealed class GarnetServerHost : ITestServer
{
    /// <summary>The argument that turns on Garnet 2.2.8's vector sets (VADD, VSIM, ...), off by default.</summary>
    public const string VectorSetsFlag = "--enable-vector-set-preview";

    private readonly string[] _extraArgs;
    private GarnetServer? _server;

    private GarnetServerHost(string name, string[] extraArgs)
    {
        Name = name;
        _extraArgs = extraArgs;
        Port = Loopback.FreePort();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Port { get; }

    /// <summary>Starts a new in-process Garnet server; <paramref name="extraArgs"/> are added to its arguments.</summary>
    public static Task<GarnetServerHost> StartNewAsync(params string[] extraArgs) => StartNewAsync("garnet", extraArgs);

    /// <summary>Starts a new in-process Garnet server named <paramref name="name"/> in test names.</summary>
    public static async Task<GarnetServerHost> StartNewAsync(string name, string[] extraArgs)
    {
        var host = new GarnetServerHost(name, extraArgs);
        await host.StartAsync();
        return host;
    }

    /// <inheritdoc />
    public async Task StartAsync()
    {
        var server = new GarnetServer(["--port", Port.ToString(), "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "--memory", "64m", .. _extraArgs], NullLoggerFactory.Instance);
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

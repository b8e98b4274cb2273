using System.Diagnostics;
using System.Globalization;

namespace RactoGateway.Redis.Testing.Servers;

/// <summary>
/// Microsoft Garnet as a child process (tests/RactoGateway.Redis.GarnetHost, built beside the tests and run with
/// <c>dotnet RactoGateway.Redis.GarnetHost.dll</c>) on a free loopback port, with Lua enabled; stopped by its own pid.
/// Hosted inside the test process, Garnet shared the CPU and thread pool with the tests' 64- to 256-caller fan-outs, and
/// a loaded pool turned the server's slowness into client timeouts in tests that are not about timing (issue 18).
/// </summary>
public sealed class GarnetServerProcess : ITestServer
{
    /// <summary>The argument that turns on Garnet's vector sets (VADD, VSIM, ...), off by default.</summary>
    public const string VectorSetsFlag = "--enable-vector-set-preview";

    /// <summary>The host program, copied beside every assembly that references this library.</summary>
    public const string HostDll = "RactoGateway.Redis.GarnetHost.dll";

    private readonly string[] _extraArgs;
    private Process? _process;

    private GarnetServerProcess(string name, string[] extraArgs)
    {
        Name = name;
        _extraArgs = extraArgs;
        Port = Loopback.FreePort();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Port { get; }

    /// <summary>The child's pid (the fixture stops it by this pid, never by name).</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("The server is not running.");

    /// <summary>Starts a new Garnet server; <paramref name="extraArgs"/> are added to its arguments.</summary>
    public static Task<GarnetServerProcess> StartNewAsync(params string[] extraArgs) => StartNewAsync("garnet", extraArgs);

    /// <summary>Starts a new Garnet server named <paramref name="name"/> in test names.</summary>
    public static async Task<GarnetServerProcess> StartNewAsync(string name, string[] extraArgs)
    {
        var host = new GarnetServerProcess(name, extraArgs);
        await host.StartAsync();
        return host;
    }

    /// <inheritdoc />
    public async Task StartAsync()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, HostDll);
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build the solution (the test projects reference tests/RactoGateway.Redis.GarnetHost through RactoGateway.Redis.Testing).");
        }

        // The host exits when its stdin closes: this pipe stays open for as long as the server should run, so that the
        // server never outlives this process even when it dies without stopping it.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardInput = true };
        foreach (var arg in (string[])[dll, "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "--memory", "64m", .. _extraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        // 60 s, not redis-server's 15: a .NET process loading Garnet and JIT-compiling it takes seconds on a loaded machine.
        _process = await ServerChild.StartAsync(start, "garnet", process =>
            Loopback.WaitForPingAsync(Port, TimeSpan.FromSeconds(60), () => !process.HasExited));
    }

    /// <summary>Stops the server with SIGKILL on its pid, as a crash would.</summary>
    public Task StopAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            ServerChild.Stop(process);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync();
}

// The run's shared test servers, started once for every test assembly (issue 18: each of the four test processes used to
// start its own redis-server, Garnet, cluster and ACL server).
//   dotnet RactoGateway.Redis.TestServers.dll <file> [--until-pid <pid>]
// Starts every server of TestServers.SharedNames (in parallel), writes <file> (what a test process needs to connect to
// each: SharedServer.Publish), then waits until SIGTERM or SIGINT, or until process <pid> (scripts/test.sh) is gone, and
// stops each server by its own pid. scripts/test.sh exports the file's path as CHATMEM_TEST_SERVERS.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RactoGateway.Redis.Testing.Servers;

if (args.Length is not (1 or 3) || (args.Length == 3 && args[1] != "--until-pid"))
{
    Console.Error.WriteLine("usage: RactoGateway.Redis.TestServers <file> [--until-pid <pid>]");
    return 2;
}

var path = Path.GetFullPath(args[0]);
int? parent = args.Length == 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) : null;
using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true; // stop the servers below, then exit
    stop.Cancel();
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

var clock = Stopwatch.StartNew();
var starting = TestServers.SharedNames.Select(async name =>
{
    var server = await TestServers.StartNewAsync(name);
    Console.Error.WriteLine($"test servers: {name} on port {server.Port} ({clock.Elapsed.TotalSeconds:F1} s)");
    return server;
}).ToList();
try
{
    await Task.WhenAll(starting);
}
catch (Exception)
{
    // Every failure, not just the first: then stop what did start.
    foreach (var failed in starting.Where(t => t.IsFaulted))
    {
        Console.Error.WriteLine($"test servers: {failed.Exception!.InnerException}");
    }

    foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
    {
        await started.Result.DisposeAsync();
    }

    return 1;
}

var servers = starting.Select(t => t.Result).ToList();
SharedServer.Publish(path, servers);
Console.Error.WriteLine($"test servers: {servers.Count} started in {clock.Elapsed.TotalSeconds:F1} s, listed in {path}");

while (!stop.IsCancellationRequested && (parent is not { } pid || IsAlive(pid)))
{
    try
    {
        await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
    }
    catch (OperationCanceledException)
    {
    }
}

foreach (var server in servers)
{
    await server.DisposeAsync(); // each by its own pid
}

File.Delete(path);
Console.Error.WriteLine("test servers: stopped");
return 0;

static bool IsAlive(int pid)
{
    try
    {
        using var process = Process.GetProcessById(pid);
        return !process.HasExited;
    }
    catch (ArgumentException)
    {
        return false; // no such process
    }
}

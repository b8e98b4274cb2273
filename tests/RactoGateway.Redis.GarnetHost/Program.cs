// Runs Microsoft Garnet with the arguments given on the command line (the same as Garnet's own server takes), until
// SIGTERM/SIGINT or until standard input closes. The test fixture (GarnetServerProcess) keeps a pipe to its stdin open for
// as long as it wants the server: if the test process dies without stopping it, the pipe closes and this exits, so a
// server never outlives the run that started it. The fixture stops it with SIGKILL on its pid (a crash, as tests want).
using System.Runtime.InteropServices;
using Garnet;
using Microsoft.Extensions.Logging.Abstractions;

using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true; // exit through the orderly path below, not the runtime's default
    stop.Cancel();
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

// No logger: Garnet's log lines would be noise on the fixture's pipes; a failed start still throws, and the exception
// goes to stderr, which the fixture shows in its error.
using var server = new GarnetServer(args, NullLoggerFactory.Instance);
server.Start();
Console.Error.WriteLine($"garnet host: listening, pid {Environment.ProcessId}");

var stdinClosed = Task.Run(() =>
{
    using var stdin = Console.OpenStandardInput();
    var buffer = new byte[256];
    while (stdin.Read(buffer, 0, buffer.Length) > 0)
    {
        // Whatever the parent writes is ignored: only the end of the stream matters.
    }
});

await Task.WhenAny(stdinClosed, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default));
Console.Error.WriteLine("garnet host: stopping");
return 0;

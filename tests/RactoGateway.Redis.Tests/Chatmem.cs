using System.Diagnostics;
using System.Text;

namespace RactoGateway.Redis.Tests;

/// <summary>Runs chatmem.dll as a separate process, as a user would: arguments, environment, stdin; exit code, stdout, stderr.</summary>
internal static class Chatmem
{
    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, (string?)null, args);

    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(Dictionary<string, string>? env, params string[] args) => RunAsync(env, (string?)null, args);

    /// <summary>Runs chatmem with <paramref name="stdin"/> as its standard input (closed after it: end of input).</summary>
    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(Dictionary<string, string>? env, string? stdin, params string[] args) =>
        RunAsync(env, stdin is null ? null : new UTF8Encoding(false).GetBytes(stdin), args);

    /// <summary>Runs chatmem with these exact bytes as its standard input (e.g. invalid UTF-8).</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(Dictionary<string, string>? env, byte[]? stdin, params string[] args)
    {
        using var process = Process.Start(StartInfo(env, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            try
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin);
                await process.StandardInput.BaseStream.FlushAsync();
            }
            catch (IOException)
            {
                // chatmem stopped reading (it refused the input early): what it printed is the result.
            }
        }

        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        await WaitAsync(process, args);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts chatmem and leaves it running, stdin open, for a test that acts while it runs (a second chatmem,
    /// a signal). The caller reads its output, ends it (<see cref="WaitAsync"/>) and disposes it.</summary>
    public static Process Start(Dictionary<string, string>? env, params string[] args) => Process.Start(StartInfo(env, args))!;

    /// <summary>Waits for <paramref name="process"/> to exit, killing it after 90 s.</summary>
    public static async Task WaitAsync(Process process, string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chatmem {string.Join(' ', args)} did not finish in 90 s");
        }
    }

    private static ProcessStartInfo StartInfo(Dictionary<string, string>? env, string[] args)
    {
        // Through env(1), SIGINT back at its default: a process started in the background by a non-interactive shell
        // (nohup, "&", some CI agents) has SIGINT ignored, its children inherit that, and .NET then never raises
        // Ctrl-C (the interrupted-bench test waited 90 s for an exit that could not come). A user at a terminal has
        // the default, which is what these tests mean. env execs dotnet, so the pid is chatmem's own.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(ChatmemDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("CHATMEM_REDIS");
        start.Environment.Remove("CHATMEM_LOCK_TIMEOUT");
        foreach (var (key, value) in env ?? [])
        {
            start.Environment[key] = value;
        }

        return start;
    }

    // tests/RactoGateway.Redis.Tests/bin/<Configuration>/net10.0 -> src/RactoGateway.Redis.Cli/bin/<Configuration>/net10.0;
    // CHATMEM_TEST_DLL runs another build instead (e.g. the previous commit's, to see a regression test fail before its fix).
    public static string ChatmemDll
    {
        get
        {
            if (Environment.GetEnvironmentVariable("CHATMEM_TEST_DLL") is { Length: > 0 } other)
            {
                return other;
            }

            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = output.Parent!.Name;
            var root = output.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
            return Path.Combine(root, "src", "RactoGateway.Redis.Cli", "bin", configuration, output.Name, "chatmem.dll");
        }
    }
}

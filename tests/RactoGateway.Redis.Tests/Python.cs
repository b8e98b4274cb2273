using System.Diagnostics;
using System.Text;

namespace RactoGateway.Redis.Tests;

/// <summary>Runs the real python3 interpreter, so interop is checked against Python itself, not our idea of it.</summary>
internal static class Python
{
    /// <summary>Runs <paramref name="script"/> with <paramref name="stdin"/> (UTF-8) and returns its stdout lines.</summary>
    public static List<string> Run(string script, byte[] stdin)
    {
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var python = Process.Start(start)!;
        python.StandardInput.BaseStream.Write(stdin);
        python.StandardInput.Close();
        var output = python.StandardOutput.ReadToEnd();
        var error = python.StandardError.ReadToEnd();
        Assert.True(python.WaitForExit(30_000), "python3 did not finish");
        Assert.True(python.ExitCode == 0, error);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}

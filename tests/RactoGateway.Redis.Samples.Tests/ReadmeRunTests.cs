using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Samples.Tests;

/// <summary>
/// Every program of README.md (each of its <c>```csharp</c> blocks) and of docs/*.md (each <c>```csharp</c> block that
/// begins with <c>// dotnet add package</c> lines) runs as a newcomer would run it, and prints exactly the <c>```text</c>
/// block that follows it. For each one: <c>dotnet new console</c> in a fresh folder, <c>dotnet add package</c> for each
/// package its header names, the block written verbatim as Program.cs, build, run, compare stdout.
/// <para>What differs from a newcomer's run, and only that: (1) the one substitution in the program's text,
/// <c>localhost:6379</c> becomes the loopback port of a server this test started (a fresh redis-server per program, or a
/// Garnet with vector sets for a program that uses recall); (2) the packages of this repository come from a folder this
/// test packed from the working tree, once per run, with a version of their own, each packed before the first program that names it (<see cref="PackedPackages"/>), and
/// <c>dotnet add package</c> is given a version (the packed one, or the one Directory.Packages.props pins for other
/// packages), so that restore works offline from the machine's NuGet cache. The nuget.config of the run adds the packed
/// folder to the sources the machine's user-level NuGet config already names.</para>
/// </summary>
public sealed partial class ReadmeRunTests(PackedPackages packages, ITestOutputHelper output) : IClassFixture<PackedPackages>
{
    private const string Header = "// dotnet add package ";

    /// <summary>The programs, named by file and heading ("README.md: One history, shared").</summary>
    public static TheoryData<string> Programs()
    {
        var data = new TheoryData<string>();
        foreach (var program in DocPrograms.All.Value)
        {
            data.Add(program.Name);
        }

        return data;
    }

    [Fact]
    public void Every_csharp_block_of_the_README_is_a_program_followed_by_its_output()
    {
        var readme = DocPrograms.Blocks(Path.Combine(DocPrograms.RepositoryRoot, "README.md"));
        Assert.NotEmpty(readme);
        foreach (var block in readme)
        {
            Assert.True(block.Code.StartsWith(Header, StringComparison.Ordinal), $"README.md, {block.Heading}: the block does not begin with \"{Header}<id>\" lines");
            Assert.True(block.Output is not null, $"README.md, {block.Heading}: no ```text block right after the ```csharp block");
        }

        Assert.Equal(readme.Count, DocPrograms.All.Value.Count(p => p.Name.StartsWith("README.md: ", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task The_program_prints_what_the_docs_show(string name)
    {
        var program = DocPrograms.All.Value.Single(p => p.Name == name);
        Assert.True(program.Output is not null, $"{name}: no ```text block right after the ```csharp block");
        var clock = Stopwatch.StartNew();

        await packages.FolderAsync(program.Packages);
        output.WriteLine($"packed: {clock.Elapsed.TotalSeconds:F1} s");
        var dir = Path.Combine(packages.Root, "programs", Slug(name));
        Directory.CreateDirectory(dir);

        await using var server = await StartServerAsync(program.Code);
        var code = server is null ? program.Code : program.Code.Replace("localhost:6379", $"127.0.0.1:{server.Port}", StringComparison.Ordinal);

        await Dotnet(dir, "new", "console", "--name", "Snippet", "--output", dir, "--no-restore", "--force");
        foreach (var id in program.Packages)
        {
            await Dotnet(dir, "add", Path.Combine(dir, "Snippet.csproj"), "package", id, "--version", packages.VersionOf(id), "--no-restore");
        }

        await File.WriteAllTextAsync(Path.Combine(dir, "Program.cs"), code);
        await Dotnet(dir, "build", Path.Combine(dir, "Snippet.csproj"), "-p:NuGetAudit=false", "-nologo", "-v:q", "-clp:ErrorsOnly");
        var run = await Run(dir, TimeSpan.FromMinutes(3), "dotnet", Path.Combine(dir, "bin", "Debug", "net10.0", "Snippet.dll"));

        output.WriteLine($"{name}: {clock.Elapsed.TotalSeconds:F1} s (packages {string.Join(", ", program.Packages)}; server {server?.Name ?? "none"})");
        Assert.True(run.ExitCode == 0, $"{name}: exit {run.ExitCode}\nstdout:\n{run.Stdout}\nstderr:\n{run.Stderr}");
        var printed = run.Stdout.ReplaceLineEndings("\n").TrimEnd('\n');
        Assert.True(program.Output == printed, $"{name} printed (between the lines):\n---\n{printed}\n---\nthe docs show:\n---\n{program.Output}\n---\nstderr:\n{run.Stderr}");
    }

    private static async Task<ITestServer?> StartServerAsync(string code)
    {
        if (!code.Contains("localhost:6379", StringComparison.Ordinal))
        {
            return null;
        }

        // Recall needs vector sets: Garnet with its preview flag (no build of Redis 8 needed).
        return code.Contains("AddRecall(", StringComparison.Ordinal)
            ? await TestServers.StartNewAsync("garnet-vector")
            : await RedisServerProcess.StartNewAsync();
    }

    private async Task Dotnet(string dir, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var result = await Run(dir, TimeSpan.FromMinutes(10), "dotnet", args);
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        output.WriteLine($"dotnet {string.Join(' ', args.Take(4).Select(Path.GetFileName))}: {clock.Elapsed.TotalSeconds:F1} s");
    }

    internal static async Task<(int ExitCode, string Stdout, string Stderr)> Run(string dir, TimeSpan timeout, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test host's MSBuild variables would point a nested dotnet at the test's own build.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["DOTNET_GENERATE_ASPNET_CERTIFICATE"] = "false";
        // No build server or MSBuild node outlives the command: this test leaves no process of its own behind.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, await stdout, $"{file} {string.Join(' ', args)}: killed after {timeout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string Slug(string name) => SlugChars().Replace(name, "-").Trim('-').ToLowerInvariant();

    [GeneratedRegex("[^A-Za-z0-9]+")]
    private static partial Regex SlugChars();
}

/// <summary>The programs of README.md and docs/*.md, read from the working tree.</summary>
internal static partial class DocPrograms
{
    /// <summary>The clone this test was built in.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Every program: all of README.md's blocks, and docs/*.md's blocks that name their packages.</summary>
    public static readonly Lazy<IReadOnlyList<DocProgram>> All = new(() =>
    {
        var programs = new List<DocProgram>();
        var files = new[] { Path.Combine(RepositoryRoot, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(RepositoryRoot, "docs"), "*.md").Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(RepositoryRoot, file).Replace('\\', '/');
            var isReadme = relative == "README.md";
            var names = new Dictionary<string, int>();
            foreach (var block in Blocks(file).Where(b => isReadme || b.Code.StartsWith("// dotnet add package ", StringComparison.Ordinal)))
            {
                var name = $"{relative}: {block.Heading}";
                names[name] = names.GetValueOrDefault(name) + 1;
                if (names[name] > 1)
                {
                    name += $" ({names[name]})";
                }

                programs.Add(new DocProgram(name, block.Code, block.Output, PackageIds(block.Code)));
            }
        }

        return programs;
    });

    /// <summary>The <c>```csharp</c> blocks of a Markdown file, each with its heading and the <c>```text</c> block right
    /// after it (one blank line between), or null.</summary>
    public static IReadOnlyList<(string Heading, string Code, string? Output)> Blocks(string path)
    {
        var lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n');
        var blocks = new List<(string, string, string?)>();
        var heading = "(top)";
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith('#'))
            {
                heading = lines[i].TrimStart('#').Trim();
            }
            else if (lines[i] == "```csharp")
            {
                var end = Array.IndexOf(lines, "```", i + 1);
                var code = string.Join('\n', lines[(i + 1)..end]) + "\n";
                string? output = null;
                var next = end + 1;
                while (next < lines.Length && lines[next].Length == 0 && next <= end + 1)
                {
                    next++;
                }

                if (next < lines.Length && lines[next] == "```text")
                {
                    var outputEnd = Array.IndexOf(lines, "```", next + 1);
                    output = string.Join('\n', lines[(next + 1)..outputEnd]);
                }

                blocks.Add((heading, code, output));
                i = end;
            }
        }

        return blocks;
    }

    private static string[] PackageIds(string code) =>
        code.Split('\n').TakeWhile(l => l.StartsWith("// dotnet add package ", StringComparison.Ordinal))
            .Select(l => l["// dotnet add package ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]).ToArray();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RactoGateway.Redis.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No RactoGateway.Redis.slnx above {AppContext.BaseDirectory}.");
    }
}

/// <summary>One program of the docs: its name, its text, what it prints, and the packages its header names.</summary>
internal sealed record DocProgram(string Name, string Code, string? Output, string[] Packages);

/// <summary>
/// This repository's packages, packed once per test run from the working tree into a temporary folder, with a version
/// no other run uses (so the NuGet cache can never hand back an older build): only the packages the programs name, each
/// when the first program that names it runs (the chatmem tool is never packed). The run restores into a global packages folder of its own that falls back to the
/// machine's (<c>~/.nuget/packages</c>): nothing is written to the machine's cache, and what is in it is used offline.
/// Everything is deleted when the run ends.
/// </summary>
public sealed class PackedPackages : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly HashSet<string> _packed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pinned;

    public PackedPackages()
    {
        Root = Path.Combine(Path.GetTempPath(), "ractogateway-readme-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Version = $"0.0.0-readme.{DateTime.UtcNow:yyyyMMddHHmmss}";
        _pinned = XDocument.Load(Path.Combine(DocPrograms.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The run's folder: the packed packages, the NuGet config, the global packages folder, the programs.</summary>
    public string Root { get; }

    /// <summary>The version of every package packed in this run.</summary>
    public string Version { get; }

    /// <summary>The folder of packed packages, after packing those of <paramref name="packages"/> (this repository's)
    /// that no earlier program of the run packed.</summary>
    public Task<string> FolderAsync(IEnumerable<string> packages) => PackAsync(packages);

    /// <summary>The version <c>dotnet add package</c> is given: this run's for this repository's packages, else the
    /// one Directory.Packages.props pins (in the NuGet cache after the repository's own restore).</summary>
    public string VersionOf(string id) =>
        IsOurs(id) ? Version
        : _pinned.TryGetValue(id, out var version) ? version
        : throw new InvalidOperationException($"A program names {id}, which Directory.Packages.props does not pin: pin it there, so restore works offline.");

    private static bool IsOurs(string id) => id.StartsWith("RactoGateway.", StringComparison.Ordinal);

    private async Task<string> PackAsync(IEnumerable<string> packages)
    {
        await _lock.WaitAsync();
        try
        {
            var folder = Path.Combine(Root, "packages-local");
            if (!Directory.Exists(folder))
            {
                Directory.CreateDirectory(folder);
                await WriteNuGetConfigAsync(folder);
            }

            // RactoGateway.Redis first: the other packages depend on it.
            var ids = packages.Where(IsOurs).Append("RactoGateway.Redis").Distinct(StringComparer.Ordinal)
                .OrderBy(id => id != "RactoGateway.Redis").ThenBy(id => id, StringComparer.Ordinal);
            foreach (var id in ids.Where(id => !_packed.Contains(id)))
            {
                var project = Path.Combine(DocPrograms.RepositoryRoot, "src", id, id + ".csproj");
                if (!File.Exists(project))
                {
                    throw new InvalidOperationException($"A program names the package {id}, but there is no {project}.");
                }

                var pack = await ReadmeRunTests.Run(Root, TimeSpan.FromMinutes(15), "dotnet", "pack", project, "-c", "Release", "-o", folder,
                    $"-p:Version={Version}", "-p:NuGetAudit=false", "-p:IncludeSymbols=false", "-nologo", "-v:q", "-clp:ErrorsOnly");
                if (pack.ExitCode != 0)
                {
                    throw new InvalidOperationException($"dotnet pack {id}: exit {pack.ExitCode}\n{pack.Stdout}\n{pack.Stderr}");
                }

                _packed.Add(id);
            }

            return folder;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task WriteNuGetConfigAsync(string folder)
    {
        var machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(Root, "nuget-packages")}" />
              </config>
              <packageSources>
                <add key="ractogateway-readme-run" value="{folder}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine-cache" value="{machineCache}" />
              </fallbackPackageFolders>
            </configuration>
            """);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: the folder is under the temporary directory, which the system cleans.
        }
        catch (UnauthorizedAccessException)
        {
        }

        _lock.Dispose();
    }
}

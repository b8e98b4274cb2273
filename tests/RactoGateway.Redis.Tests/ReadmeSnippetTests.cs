using System.Text.RegularExpressions;

namespace RactoGateway.Redis.Tests;

/// <summary>Every C# snippet of README.md compiles as pasted: samples/ReadmeSnippets holds each one verbatim (its using
/// lines at the top of a file, its body in a method of the same file), and the solution build compiles them.</summary>
public sealed partial class ReadmeSnippetTests
{
    /// <summary>Snippets not in samples/ReadmeSnippets, found by a line of theirs, each with the reason.</summary>
    private static readonly Dictionary<string, string> NotCompiled = new()
    {
        ["builder.Services.AddOpenTelemetry()"] = "needs OpenTelemetry.Extensions.Hosting, which is no dependency of this repository",
        ["builder.Services.AddChatClient(new OfflineEchoChatClient())"] = "a sketch of samples/ChatService/Program.cs, which is compiled",
    };

    [Fact]
    public void Every_csharp_snippet_of_the_README_is_compiled_verbatim_in_samples_ReadmeSnippets()
    {
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var files = Directory.GetFiles(Path.Combine(root, "samples", "ReadmeSnippets"), "*.cs")
            .Select(path => File.ReadAllText(path).ReplaceLineEndings("\n")).ToArray();
        var snippets = CsharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToArray();

        var missing = new List<string>();
        var skipped = 0;
        foreach (var snippet in snippets)
        {
            if (NotCompiled.Keys.Any(snippet.Contains))
            {
                skipped++;
                continue;
            }

            var (head, body) = Split(snippet);
            if (!files.Any(file => file.Contains(head, StringComparison.Ordinal) && file.Contains(body, StringComparison.Ordinal)))
            {
                missing.Add(snippet.Split('\n')[0]);
            }
        }

        Assert.True(snippets.Length >= 10, $"found only {snippets.Length} ```csharp blocks in README.md");
        Assert.Equal(NotCompiled.Count, skipped);
        Assert.True(missing.Count == 0, "README snippets not in samples/ReadmeSnippets (copy them there verbatim): " + string.Join(" | ", missing));
        Assert.Equal(snippets.Length - skipped, files.Length);
    }

    /// <summary>The snippet's lines up to its last using directive (with any comment above them), and the rest.</summary>
    private static (string Head, string Body) Split(string snippet)
    {
        var lines = snippet.Split('\n');
        var last = Array.FindLastIndex(lines, line => UsingDirective().IsMatch(line));
        return (string.Join('\n', lines[..(last + 1)]), string.Join('\n', lines[(last + 1)..]).Trim('\n'));
    }

    private static string RepositoryRoot()
    {
        // tests/RactoGateway.Redis.Tests/bin/<Configuration>/net10.0
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
    }

    [GeneratedRegex("^```csharp\n(.*?)\n```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CsharpBlock();

    [GeneratedRegex(@"^using [A-Za-z0-9_.]+( = [A-Za-z0-9_.<>, ]+)?;$")]
    private static partial Regex UsingDirective();
}

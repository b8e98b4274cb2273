using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RactoGateway.Redis.Testing;

/// <summary>
/// The golden cases of the window rules (<c>tests/golden/append-cases.json</c>, copied beside every test assembly): the
/// one oracle that append.lua (on every server) and WindowPolicy (in the unit tier) must both satisfy. The file's
/// "about" explains the notation; this reader expands it into the exact bytes stored.
/// </summary>
public sealed partial class GoldenCase
{
    private GoldenCase(string name, JsonElement json)
    {
        Name = name;
        var config = json.GetProperty("config");
        int Int(string field, int fallback) => config.TryGetProperty(field, out var v) ? v.GetInt32() : fallback;
        bool Flag(JsonElement e, string field, bool fallback = false) => e.TryGetProperty(field, out var v) ? v.GetBoolean() : fallback;
        MaxTurns = Int("maxTurns", 10);
        Pin = Flag(config, "pin");
        MaxPinned = Int("maxPinned", ChatMemoryWindow.DefaultMaxPinnedMessages);
        Tools = Flag(config, "tools");
        Summarize = Flag(config, "summarize");
        MaxPending = Int("maxPending", 1000);
        TtlMs = Int("ttlMs", 0);
        Replace = Flag(config, "replace");
        Before = Expand(json.GetProperty("before"));
        Append = json.TryGetProperty("append", out var append) ? Expand(append) : null;
        After = Expand(json.GetProperty("after"));
        Reply = [.. json.GetProperty("reply").EnumerateArray().Select(v => v.GetInt64())];
        CSharp = Flag(json, "csharp", fallback: true);
    }

    public string Name { get; }

    public int MaxTurns { get; }

    public bool Pin { get; }

    public int MaxPinned { get; }

    public bool Tools { get; }

    public bool Summarize { get; }

    public int MaxPending { get; }

    public int TtlMs { get; }

    /// <summary>An import's replace: the list is deleted first.</summary>
    public bool Replace { get; }

    /// <summary>The list before, as stored.</summary>
    public IReadOnlyList<string> Before { get; }

    /// <summary>The messages appended in one call, encoded; <see langword="null"/> for a trim.</summary>
    public IReadOnlyList<string>? Append { get; }

    /// <summary>The list after; a summary's epoch "*" stands for a new one (see <see cref="Matches"/>).</summary>
    public IReadOnlyList<string> After { get; }

    /// <summary>append.lua's reply: stored, pending, dropped.</summary>
    public IReadOnlyList<long> Reply { get; }

    /// <summary>Whether WindowPolicy has this case's rule (see the file's "about").</summary>
    public bool CSharp { get; }

    /// <summary>The case's settings, under <paramref name="keyPrefix"/>.</summary>
    public ChatMemoryConfig Config(string keyPrefix = ChatMemoryConfig.DefaultKeyPrefix)
    {
        var config = new ChatMemoryConfig
        {
            KeyPrefix = keyPrefix,
            MaxTurns = MaxTurns,
            Summarize = Summarize,
            MaxPendingMessages = MaxPending,
            Ttl = TtlMs > 0 ? TimeSpan.FromMilliseconds(TtlMs) : null,
        };
        config.Window.PinSystemMessages = Pin;
        config.Window.MaxPinnedMessages = MaxPinned;
        config.Window.ToolCallAware = Tools;
        return config;
    }

    /// <summary>Whether <paramref name="actual"/> is this case's list after (any epoch where it says "*").</summary>
    public bool Matches(IReadOnlyList<string> actual) =>
        actual.Count == After.Count && After.Zip(actual).All(p => p.First == (p.First.Contains("\"epoch\":\"*\"", StringComparison.Ordinal)
            ? Epoch().Replace(p.Second, "\"epoch\":\"*\"")
            : p.Second));

    public override string ToString() => Name;

    /// <summary>Every case of the file.</summary>
    public static IReadOnlyList<GoldenCase> All { get; } = Load();

    private static List<GoldenCase> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "golden", "append-cases.json")));
        return [.. document.RootElement.GetProperty("cases").EnumerateArray().Select(c => new GoldenCase(c.GetProperty("name").GetString()!, c))];
    }

    private static List<string> Expand(JsonElement items)
    {
        var elements = new List<string>();
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                elements.Add(Element(item.GetString()!));
                continue;
            }

            var repeat = item.GetProperty("repeat").EnumerateArray().Select(e => e.GetString()!).ToArray();
            for (var i = item.GetProperty("from").GetInt32(); i <= item.GetProperty("to").GetInt32(); i++)
            {
                elements.AddRange(repeat.Select(e => Element(e.Replace("{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))));
            }
        }

        return elements;
    }

    /// <summary>One element of the notation, as stored.</summary>
    private static string Element(string notation)
    {
        if (notation.StartsWith("py:", StringComparison.Ordinal))
        {
            var (kind, text) = Split(notation[3..]);
            return $$"""{"role": "{{Role(kind)}}", "content": "{{text}}"}""";
        }

        if (notation.StartsWith("S:", StringComparison.Ordinal))
        {
            var (counters, text) = Split(notation[2..]);
            var c = counters.Split(',');
            return $$$"""{"role":"system","summary":{"pending":{{{c[0]}}},"folded":{{{c[1]}}},"dropped":{{{c[2]}}},"epoch":"{{{c[3]}}}"},"content":"{{{text}}}"}""";
        }

        var (head, content) = Split(notation);
        var hash = head.IndexOf('#', StringComparison.Ordinal);
        var (letter, id) = hash < 0 ? (head, null) : (head[..hash], head[(hash + 1)..]);
        return letter switch
        {
            "c" => $$$"""{"role":"assistant","content":"","tool_calls":[{"id":"{{{content}}}","type":"function","function":{"name":"lookup","arguments":"{}"}}]}""",
            "t" => $$"""{"role":"tool","content":"result {{content}}","tool_call_id":"{{content}}"}""",
            _ when id is not null => $$"""{"role":"{{Role(letter)}}","id":"{{id}}","content":"{{content}}"}""",
            _ => $$"""{"role":"{{Role(letter)}}","content":"{{content}}"}""",
        };
    }

    private static (string Head, string Tail) Split(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return (text[..colon], text[(colon + 1)..]);
    }

    private static string Role(string letter) => letter switch
    {
        "u" => "user",
        "a" => "assistant",
        "s" => "system",
        _ => throw new FormatException($"Unknown role letter '{letter}' in the golden cases."),
    };

    [GeneratedRegex("\"epoch\":\"[0-9]+\"")]
    private static partial Regex Epoch();

    /// <summary>UTF-8 bytes of an element.</summary>
    public static byte[] Bytes(string element) => Encoding.UTF8.GetBytes(element);
}

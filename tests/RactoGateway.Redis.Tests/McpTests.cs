using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using RactoGateway.Redis.Embeddings;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// <c>chatmem mcp</c> driven by the official SDK's own MCP client (<see cref="McpClient"/> with
/// <see cref="StdioClientTransport"/>, and <see cref="HttpClientTransport"/> for <c>--http</c>), the server a child
/// process stopped by its own pid: every tool, bad arguments (a tool error, nothing written), what it writes read back by
/// the library and by Python, recall on the vector servers with the offline MiniLM, erasure only with --allow-erase,
/// HTTP on loopback only, and stdout carrying nothing but the protocol. Every wait has a deadline.
/// </summary>
public sealed class McpTests : IDisposable
{
    private const string Fact = "My dog is called Biscuit.";

    private static readonly string[] Chatter =
    [
        "I like hiking in the mountains.", "The weather is sunny today.", "Can you recommend a pasta recipe?", "We went to Lisbon last spring.",
    ];

    private static readonly string[] ReadingAndWritingTools = ["append", "get_history", "get_summary", "list_conversations", "search_memory", "set_owner"];

    private readonly string _dataDir = Directory.CreateTempSubdirectory("chatmem-mcp-").FullName;
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromMinutes(3));

    private CancellationToken Deadline => _deadline.Token;

    public void Dispose()
    {
        _deadline.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task Every_tool_over_stdio_and_what_it_appends_reads_back_identically_in_the_library_and_in_python(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        (string Role, string Content)[] sent =
        [
            ("system", "Be brief."), ("user", Fact), ("assistant", "Noted."), ("user", "Café ☕ \"quoted\"\n\ttabbed line"), ("assistant", "Sure 👍"), ("user", "Thanks!"),
        ];

        List<DateTimeOffset> stamps = [];
        JsonElement history, owned, summary;
        CallToolResult search;
        await using (var mcp = await McpChild.StdioAsync(Redis(server, prefix, "mcp"), Deadline))
        {
            var tools = await mcp.Client.ListToolsAsync(cancellationToken: Deadline);
            Assert.Equal(ReadingAndWritingTools, tools.Select(t => t.Name).Order(StringComparer.Ordinal));
            Assert.All(tools, t => Assert.False(string.IsNullOrWhiteSpace(t.Description)));
            var append = tools.Single(t => t.Name == "append").JsonSchema;
            Assert.Equal(["content", "conversation", "role"], append.GetProperty("required").EnumerateArray().Select(e => e.GetString()).Order(StringComparer.Ordinal));
            Assert.True(tools.Single(t => t.Name == "get_history").ProtocolTool.Annotations?.ReadOnlyHint);

            Structured(await mcp.CallAsync("set_owner", new() { ["conversation"] = "c", ["owner"] = "alice" }, Deadline));
            foreach (var (role, content) in sent)
            {
                var appended = Structured(await mcp.CallAsync("append", new() { ["conversation"] = "c", ["role"] = role, ["content"] = content }, Deadline));
                Assert.Equal(stamps.Count + 1, appended.GetProperty("stored").GetInt64());
                stamps.Add(appended.GetProperty("timestamp").GetDateTimeOffset());
            }

            history = Structured(await mcp.CallAsync("get_history", new() { ["conversation"] = "c" }, Deadline));
            owned = Structured(await mcp.CallAsync("list_conversations", new() { ["owner"] = "alice" }, Deadline));
            summary = Structured(await mcp.CallAsync("get_summary", new() { ["conversation"] = "c" }, Deadline));
            search = await mcp.CallAsync("search_memory", new() { ["conversation"] = "c", ["query"] = "dog" }, Deadline);
            Assert.Contains($"chatmem: MCP server on stdio; memory on 127.0.0.1:{server.Port}", mcp.Stderr);
        }

        // The library reads exactly what was appended, timestamps included, and so did get_history.
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix });
        var stored = await memory.GetHistoryAsync("c");
        Assert.Equal(sent.Select((m, i) => new ChatMemoryMessage(m.Role, m.Content) { Timestamp = stamps[i] }), stored);
        Assert.Equal("c", history.GetProperty("conversation").GetString());
        Assert.Equal(
            stored.Select(m => (m.Role, m.Content, m.Timestamp)),
            history.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!, (DateTimeOffset?)m.GetProperty("timestamp").GetDateTimeOffset())));
        Assert.All(history.GetProperty("messages").EnumerateArray(), m => Assert.Equal(["content", "role", "timestamp"], m.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)));

        // Python ractogateway's get_history (json.loads of each element) reads the same roles and texts.
        var raw = await TestServers.SharedConnectionAsync(server.AdminConnectionString);
        var elements = (await raw.GetDatabase().ListRangeAsync($"{prefix}:c")).Select(e => Encoding.UTF8.GetString((byte[])e!));
        var python = Python.Run(
            """
            import json, sys
            for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
                d = json.loads(line)
                assert type(d['role']) is str and type(d['content']) is str
                print(json.dumps([d['role'], d['content'], sorted(d)]))
            """,
            Encoding.UTF8.GetBytes(string.Join('\n', elements)));
        Assert.Equal(
            sent.Select(m => (m.Role, m.Content, "content,role,timestamp")),
            python.Select(line => JsonDocument.Parse(line).RootElement).Select(a => (a[0].GetString()!, a[1].GetString()!, string.Join(',', a[2].EnumerateArray().Select(k => k.GetString())))));

        var conversation = Assert.Single(owned.GetProperty("conversations").EnumerateArray());
        Assert.Equal(("c", Fact), (conversation.GetProperty("conversation").GetString(), conversation.GetProperty("title").GetString()));
        Assert.InRange(conversation.GetProperty("last_activity").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("summary").ValueKind);

        // Redis 7 and Garnet without --enable-vector-set-preview have no vector sets: a tool error says what is needed.
        Assert.True(search.IsError);
        Assert.Contains("Long-term recall needs vector sets: Redis 8 or later, or Garnet started with --enable-vector-set-preview", Text(search));
        Assert.StartsWith($"Redis at 127.0.0.1:{server.Port}: ", Text(search));
    }

    [Theory, VectorServers]
    public async Task Search_memory_recalls_with_time_and_role_what_a_summarizer_folded_and_get_summary_reads_the_summary(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();

        // Written over MCP with the application's window rules (one turn, evicted messages kept for the summary) ...
        await using var mcp = await McpChild.StdioAsync(Redis(server, prefix, "--max-turns", "1", "--summarize", "mcp"), Deadline);
        Structured(await mcp.CallAsync("set_owner", new() { ["conversation"] = "pets", ["owner"] = "alice" }, Deadline));
        List<DateTimeOffset> stamps = [];
        string[] texts = [Fact, .. Chatter, "And what about dinner?"];
        for (var i = 0; i < texts.Length; i++)
        {
            var appended = Structured(await mcp.CallAsync("append", new() { ["conversation"] = "pets", ["role"] = i % 2 == 0 ? "user" : "assistant", ["content"] = texts[i] }, Deadline));
            stamps.Add(appended.GetProperty("timestamp").GetDateTimeOffset());
        }

        // ... folded and indexed by the application's summarizer, embedding with the same offline MiniLM ...
        using var embeddings = new MiniLMEmbeddingGenerator();
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 1, Summarize = true })
        {
            Features = new ChatMemoryFeatures().AddRecall(embeddings),
        };
        var model = new StrictChatClient { Responder = FoldReplies.Fold };
        Assert.Equal(texts.Length - 2, await new ChatMemorySummarizer(memory, model).SummarizePendingAsync("pets", Deadline));
        Assert.Empty(model.Rejections);

        // ... and read back over MCP.
        var summary = Structured(await mcp.CallAsync("get_summary", new() { ["conversation"] = "pets" }, Deadline));
        var history = Structured(await mcp.CallAsync("get_history", new() { ["conversation"] = "pets" }, Deadline));
        var inConversation = Structured(await mcp.CallAsync("search_memory", new() { ["conversation"] = "pets", ["query"] = "What is my dog called?", ["top"] = 1 }, Deadline));
        var byOwner = Structured(await mcp.CallAsync("search_memory", new() { ["owner"] = "alice", ["query"] = "Which pet do I have, and its name?", ["top"] = 3 }, Deadline));

        var librarySummary = (await memory.GetHistoryAsync("pets")).Single(m => m.IsSummary).Content;
        Assert.Equal(string.Join(' ', texts[..^2]), librarySummary);
        Assert.Equal(librarySummary, summary.GetProperty("summary").GetString());
        Assert.Equal([texts[^2], texts[^1]], history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()));

        var hit = Assert.Single(inConversation.GetProperty("messages").EnumerateArray());
        Assert.Equal(("pets", 0L, "user", Fact), (hit.GetProperty("conversation").GetString(), hit.GetProperty("position").GetInt64(), hit.GetProperty("role").GetString(), hit.GetProperty("content").GetString()));
        Assert.Equal(stamps[0], hit.GetProperty("timestamp").GetDateTimeOffset());
        Assert.InRange(hit.GetProperty("score").GetDouble(), 0.5, 1);
        var best = byOwner.GetProperty("messages").EnumerateArray().First();
        Assert.Equal(("pets", Fact, stamps[0]), (best.GetProperty("conversation").GetString(), best.GetProperty("content").GetString(), best.GetProperty("timestamp").GetDateTimeOffset()));
    }

    [Fact]
    public async Task Bad_arguments_are_tool_errors_that_name_the_argument_and_write_nothing()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        await using var mcp = await McpChild.StdioAsync(Redis(server, prefix, "mcp"), Deadline);

        async Task<string> ErrorAsync(string tool, Dictionary<string, object?> arguments)
        {
            var result = await mcp.CallAsync(tool, arguments, Deadline);
            Assert.True(result.IsError, $"{tool} {JsonSerializer.Serialize(arguments)} was not refused: {Text(result)}");
            return Text(result);
        }

        Assert.Equal("Role 'robot' is not one of user, assistant, system or tool; set ChatMemoryConfig.AllowCustomRoles to store other roles.",
            await ErrorAsync("append", new() { ["conversation"] = "c", ["role"] = "robot", ["content"] = "hi" }));
        Assert.Equal("The role must not be empty.", await ErrorAsync("append", new() { ["conversation"] = "c", ["role"] = "", ["content"] = "hi" }));
        Assert.Equal("content: The content must not be empty.", await ErrorAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = "" }));
        Assert.Equal("content: The content must not be empty.", await ErrorAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = " \n " }));
        Assert.StartsWith("conversation: ", await ErrorAsync("append", new() { ["conversation"] = " ", ["role"] = "user", ["content"] = "hi" }));
        Assert.Contains("'role'", await ErrorAsync("append", new() { ["conversation"] = "c", ["content"] = "hi" }));
        Assert.Equal("role: must be a string (was a number).", await ErrorAsync("append", new() { ["conversation"] = "c", ["role"] = 5, ["content"] = "hi" }));
        Assert.Equal("content: The content must not be empty.", await ErrorAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = null }));
        Assert.Equal("top: must be a whole number (was a string).", await ErrorAsync("search_memory", new() { ["conversation"] = "c", ["query"] = "dog", ["top"] = "many" }));
        Assert.StartsWith("conversation: ", await ErrorAsync("get_history", new() { ["conversation"] = "" }));
        Assert.Equal("Give either conversation or owner (not both).", await ErrorAsync("search_memory", new() { ["conversation"] = "c", ["owner"] = "alice", ["query"] = "dog" }));
        Assert.Equal("Give either conversation or owner (not both).", await ErrorAsync("search_memory", new() { ["query"] = "dog" }));
        Assert.Equal("top must be a whole number between 1 and 1000 (was 0).", await ErrorAsync("search_memory", new() { ["conversation"] = "c", ["query"] = "dog", ["top"] = 0 }));
        Assert.Equal("top must be a whole number between 1 and 1000 (was 1001).", await ErrorAsync("search_memory", new() { ["owner"] = "alice", ["query"] = "dog", ["top"] = 1001 }));
        Assert.StartsWith("query: ", await ErrorAsync("search_memory", new() { ["conversation"] = "c", ["query"] = " " }));
        Assert.StartsWith("owner: ", await ErrorAsync("set_owner", new() { ["conversation"] = "c", ["owner"] = "" }));
        Assert.Empty(await KeysAsync(server, prefix));

        // A conversation of another owner: refused, and the index is as it was.
        Structured(await mcp.CallAsync("set_owner", new() { ["conversation"] = "c", ["owner"] = "bob" }, Deadline));
        var keys = await KeysAsync(server, prefix);
        Assert.Contains("belongs to", await ErrorAsync("set_owner", new() { ["conversation"] = "c", ["owner"] = "alice" }));
        Assert.Equal(keys, await KeysAsync(server, prefix));
        Assert.Empty(Structured(await mcp.CallAsync("list_conversations", new() { ["owner"] = "alice" }, Deadline)).GetProperty("conversations").EnumerateArray());
        Assert.Single(Structured(await mcp.CallAsync("list_conversations", new() { ["owner"] = "bob" }, Deadline)).GetProperty("conversations").EnumerateArray());
    }

    [Fact]
    public async Task Without_allow_erase_the_erasing_tools_are_not_listed_and_cannot_be_called()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        await using var mcp = await McpChild.StdioAsync(Redis(server, prefix, "mcp"), Deadline);
        Structured(await mcp.CallAsync("set_owner", new() { ["conversation"] = "c", ["owner"] = "alice" }, Deadline));
        Structured(await mcp.CallAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = "keep me" }, Deadline));
        var keys = await KeysAsync(server, prefix);

        var tools = await mcp.Client.ListToolsAsync(cancellationToken: Deadline);
        Assert.Equal(ReadingAndWritingTools, tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var (tool, arguments) in new (string, Dictionary<string, object?>)[]
        {
            ("erase_owner", new() { ["owner"] = "alice" }),
            ("clear_conversation", new() { ["conversation"] = "c" }),
        })
        {
            var refused = await Assert.ThrowsAnyAsync<McpException>(() => mcp.CallAsync(tool, arguments, Deadline));
            Assert.Contains(tool, refused.Message);
        }

        Assert.Equal(keys, await KeysAsync(server, prefix));
        Assert.Single(Structured(await mcp.CallAsync("get_history", new() { ["conversation"] = "c" }, Deadline)).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task Http_serves_loopback_only_whatever_the_environment_says_and_with_allow_erase_clears_and_erases()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        var (urlsPort, kestrelPort) = (Loopback.FreePort(), Loopback.FreePort());
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://0.0.0.0:{urlsPort}",
            ["Kestrel__Endpoints__Public__Url"] = $"http://0.0.0.0:{kestrelPort}",
        };
        string[] args = Redis(server, prefix, "mcp", "--http", "--port", "0", "--allow-erase");
        using var process = Chatmem.Start(environment, args);
        var stderr = new StringBuilder();
        try
        {
            var url = await HttpUrlAsync(process, stderr);
            Assert.Matches(new Regex(@"^http://127\.0\.0\.1:\d+/mcp$"), url.ToString());
            Assert.Equal($"chatmem: MCP server (streamable HTTP) at {url}; memory on 127.0.0.1:{server.Port}", stderr.ToString().Trim());
            Assert.False(Listening(urlsPort), "ASPNETCORE_URLS was bound");
            Assert.False(Listening(kestrelPort), "a Kestrel endpoint from the environment was bound");

            // A request naming another host (DNS rebinding) or coming from another site's page is refused.
            using (var http = new HttpClient())
            {
                foreach (var (header, value) in new[] { ("Host", "attacker.example"), ("Origin", "http://attacker.example") })
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
                    request.Headers.TryAddWithoutValidation(header, value);
                    using var response = await http.SendAsync(request, Deadline);
                    Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                }
            }

            await using (var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = url, TransportMode = HttpTransportMode.StreamableHttp }))
            await using (var client = await McpClient.CreateAsync(transport, cancellationToken: Deadline))
            {
                var tools = await client.ListToolsAsync(cancellationToken: Deadline);
                Assert.Equal([.. ReadingAndWritingTools.Append("clear_conversation").Append("erase_owner").Order(StringComparer.Ordinal)], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
                Assert.True(tools.Single(t => t.Name == "erase_owner").ProtocolTool.Annotations?.DestructiveHint);
                foreach (var (id, owner) in new[] { ("a", "alice"), ("b", "alice"), ("z", "zoe") })
                {
                    Structured(await client.CallToolAsync("set_owner", new Dictionary<string, object?> { ["conversation"] = id, ["owner"] = owner }, cancellationToken: Deadline));
                    Structured(await client.CallToolAsync("append", new Dictionary<string, object?> { ["conversation"] = id, ["role"] = "user", ["content"] = $"I am {id}" }, cancellationToken: Deadline));
                }

                var history = Structured(await client.CallToolAsync("get_history", new Dictionary<string, object?> { ["conversation"] = "a" }, cancellationToken: Deadline));
                Assert.Equal("I am a", Assert.Single(history.GetProperty("messages").EnumerateArray()).GetProperty("content").GetString());

                var cleared = Structured(await client.CallToolAsync("clear_conversation", new Dictionary<string, object?> { ["conversation"] = "z" }, cancellationToken: Deadline));
                Assert.True(cleared.GetProperty("existed").GetBoolean());
                Assert.False(Structured(await client.CallToolAsync("clear_conversation", new Dictionary<string, object?> { ["conversation"] = "z" }, cancellationToken: Deadline)).GetProperty("existed").GetBoolean());
                var erased = Structured(await client.CallToolAsync("erase_owner", new Dictionary<string, object?> { ["owner"] = "alice" }, cancellationToken: Deadline));
                Assert.Equal(2, erased.GetProperty("erased").GetInt32());
            }

            Assert.Empty(await KeysAsync(server, prefix));
        }
        finally
        {
            // SIGINT by its own pid, as Ctrl-C would: it stops, exit 0.
            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(Deadline);
            }

            await Chatmem.WaitAsync(process, args);
        }

        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", await process.StandardOutput.ReadToEndAsync(Deadline));
    }

    [Fact]
    public async Task On_the_embedded_server_stdout_carries_only_the_protocol_and_a_later_chatmem_reads_what_was_appended()
    {
        string[] args = ["--data-dir", _dataDir, "mcp"];
        using var process = Chatmem.Start(null, args);
        var stderr = process.StandardError.ReadToEndAsync(Deadline);
        string[] requests =
        [
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""",
            """{"jsonrpc":"2.0","method":"notifications/initialized"}""",
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"append","arguments":{"conversation":"c","role":"user","content":"héllo"}}}""",
        ];
        List<JsonElement> replies = [];
        try
        {
            foreach (var request in requests)
            {
                await process.StandardInput.WriteLineAsync(request.AsMemory(), Deadline);
                await process.StandardInput.FlushAsync(Deadline);
                if (request.Contains("\"id\"", StringComparison.Ordinal))
                {
                    // Every line on stdout is a JSON-RPC message: the reply to this request.
                    var line = await process.StandardOutput.ReadLineAsync(Deadline) ?? throw new InvalidOperationException($"stdout ended; stderr: {await stderr}");
                    replies.Add(JsonDocument.Parse(line).RootElement.Clone());
                }
            }

            process.StandardInput.Close(); // end of input: the server stops
            await Chatmem.WaitAsync(process, args);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(); // by its own pid
            }
        }

        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", await process.StandardOutput.ReadToEndAsync(Deadline));
        Assert.StartsWith("chatmem: MCP server on stdio; memory on the embedded server (127.0.0.1:", (await stderr).Trim());
        Assert.Equal([1, 2], replies.Select(r => r.GetProperty("id").GetInt32()));
        Assert.All(replies, r => Assert.Equal("2.0", r.GetProperty("jsonrpc").GetString()));
        Assert.Equal("chatmem", replies[0].GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString());
        Assert.Equal(1, replies[1].GetProperty("result").GetProperty("structuredContent").GetProperty("stored").GetInt64());

        var show = await Chatmem.RunAsync("--data-dir", _dataDir, "show", "c", "--json");
        Assert.Equal(0, show.Code);
        Assert.Equal("""[{"role":"user","content":"héllo"}]""", show.Stdout.Trim());
    }

    [Fact]
    public async Task A_memory_server_that_stops_is_a_tool_error_naming_it_and_the_tools_work_again_once_it_is_back()
    {
        await using var server = await TestServers.StartNewAsync("redis");
        var prefix = TestServers.UniquePrefix();
        await using var mcp = await McpChild.StdioAsync(Redis(server, prefix, "mcp"), Deadline);
        Structured(await mcp.CallAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = "before" }, Deadline));

        await server.StopAsync();
        var down = await mcp.CallAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = "during" }, Deadline);
        Assert.True(down.IsError);
        Assert.StartsWith($"cannot reach Redis at 127.0.0.1:{server.Port} (", Text(down));

        // Back: the server's own connections reconnect; poll until a call goes through (the deadline bounds it).
        await server.StartAsync();
        CallToolResult appended;
        while ((appended = await mcp.CallAsync("append", new() { ["conversation"] = "c", ["role"] = "user", ["content"] = "after" }, Deadline)).IsError is true)
        {
            Assert.StartsWith($"cannot reach Redis at 127.0.0.1:{server.Port} (", Text(appended));
            await Task.Delay(100, Deadline);
        }

        var history = Structured(await mcp.CallAsync("get_history", new() { ["conversation"] = "c" }, Deadline));
        var contents = history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()).ToList();
        Assert.Equal("after", contents[^1]);
        Assert.DoesNotContain("during", contents);
    }

    [Fact]
    public async Task Bad_options_and_an_unreachable_server_exit_with_one_line_before_serving()
    {
        var port = Loopback.FreePort();

        var unreachable = await Chatmem.RunAsync("--redis", $"127.0.0.1:{port}", "mcp");
        var portWithoutHttp = await Chatmem.RunAsync("--redis", $"127.0.0.1:{port}", "mcp", "--port", "80");
        var badPort = await Chatmem.RunAsync("mcp", "--http", "--port", "70000");
        var server = await TestServers.GetAsync("redis");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        var busy = await Chatmem.RunAsync("--redis", $"127.0.0.1:{server.Port}", "mcp", "--http", "--port", takenPort.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal((1, $"chatmem: cannot reach Redis at 127.0.0.1:{port} (UnableToConnect)", ""), (unreachable.Code, unreachable.Stderr.Trim(), unreachable.Stdout));
        Assert.Equal((2, "chatmem: --port applies with --http."), (portWithoutHttp.Code, portWithoutHttp.Stderr.Trim()));
        Assert.Equal((2, "chatmem: --port must be a whole number between 0 and 65535 (was '70000') (see chatmem --help)"), (badPort.Code, badPort.Stderr.Trim()));
        Assert.Equal(2, busy.Code);
        Assert.StartsWith($"chatmem: --port {takenPort}: cannot listen on 127.0.0.1:{takenPort} (", busy.Stderr.Trim());
        Assert.Single(busy.Stderr.Trim().Split('\n'));
    }

    private static string[] Redis(ITestServer server, string prefix, params string[] args) =>
        ["--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, .. args];

    /// <summary>The structured result of a call that must have succeeded.</summary>
    private static JsonElement Structured(CallToolResult result)
    {
        Assert.True(result.IsError is not true, Text(result));
        return JsonSerializer.SerializeToElement(result.StructuredContent);
    }

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private static async Task<List<string>> KeysAsync(ITestServer server, string prefix)
    {
        var connection = await TestServers.SharedConnectionAsync(server.AdminConnectionString);
        var keys = new List<string>();
        foreach (var endpoint in connection.GetServers())
        {
            await foreach (var key in endpoint.KeysAsync(pattern: prefix + "*"))
            {
                keys.Add((string)key!);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <summary>Whether anything accepts connections on 127.0.0.1:<paramref name="port"/> (a 0.0.0.0 binding would).</summary>
    private static bool Listening(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The URL printed on stderr once the HTTP server listens (the line is kept in <paramref name="stderr"/>).</summary>
    private async Task<Uri> HttpUrlAsync(Process process, StringBuilder stderr)
    {
        while (await process.StandardError.ReadLineAsync(Deadline) is { } line)
        {
            stderr.AppendLine(line);
            if (Regex.Match(line, @"at (http://\S+); memory on") is { Success: true } match)
            {
                return new Uri(match.Groups[1].Value);
            }
        }

        await Chatmem.WaitAsync(process, []);
        throw new InvalidOperationException($"chatmem mcp --http exited {process.ExitCode} before printing its URL: {stderr}");
    }

    /// <summary>chatmem mcp on stdio, started and connected to by the SDK's client; disposing it closes the client (the
    /// server's stdin), then waits, with a deadline, until the process, found by its pid, has exited.</summary>
    private sealed class McpChild : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> _stderr;
        private readonly int _pid;

        private McpChild(McpClient client, ConcurrentQueue<string> stderr, int pid)
        {
            Client = client;
            _stderr = stderr;
            _pid = pid;
        }

        public McpClient Client { get; }

        public string Stderr => string.Join('\n', _stderr);

        public static async Task<McpChild> StdioAsync(string[] args, CancellationToken cancellationToken)
        {
            var stderr = new ConcurrentQueue<string>();
            var marker = Guid.NewGuid().ToString("N");
            var transport = new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = "chatmem",
                // Through env(1) with SIGINT at its default (see Chatmem); env execs dotnet, so the pid is chatmem's.
                Command = "env",
                Arguments = ["--default-signal=INT", "dotnet", Chatmem.ChatmemDll, .. args],
                // The marker finds this process's pid; CHATMEM_REDIS and a lock timeout from the test's environment must not leak in.
                EnvironmentVariables = new Dictionary<string, string?> { ["CHATMEM_MCP_TEST"] = marker, ["CHATMEM_REDIS"] = null, ["CHATMEM_LOCK_TIMEOUT"] = null },
                StandardErrorLines = stderr.Enqueue,
                ShutdownTimeout = TimeSpan.FromSeconds(30),
            });
            var client = await McpClient.CreateAsync(transport, cancellationToken: cancellationToken);
            return new McpChild(client, stderr, PidWith(marker));
        }

        public Task<CallToolResult> CallAsync(string tool, Dictionary<string, object?> arguments, CancellationToken cancellationToken) =>
            Client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken).AsTask();

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (Directory.Exists($"/proc/{_pid}") && !deadline.IsCancellationRequested)
            {
                await Task.Delay(50, CancellationToken.None);
            }

            if (Directory.Exists($"/proc/{_pid}"))
            {
                using var process = Process.GetProcessById(_pid);
                process.Kill();
                Assert.Fail($"chatmem mcp (pid {_pid}) did not exit within 60 s of its stdin closing; stderr: {Stderr}");
            }
        }

        /// <summary>The pid of the one process whose environment holds <paramref name="marker"/>.</summary>
        private static int PidWith(string marker)
        {
            var needle = Encoding.UTF8.GetBytes($"CHATMEM_MCP_TEST={marker}\0");
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(directory), out var pid))
                {
                    continue;
                }

                try
                {
                    if (File.ReadAllBytes(Path.Combine(directory, "environ")).AsSpan().IndexOf(needle) >= 0)
                    {
                        return pid;
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Another user's process, or one that just exited.
                }
            }

            throw new InvalidOperationException("the chatmem mcp child process was not found");
        }
    }
}

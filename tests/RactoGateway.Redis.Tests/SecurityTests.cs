using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>Passwords, ACL users with least privilege, TLS with a CA made by the test, and hostile conversation ids.</summary>
public class SecurityTests(ITestOutputHelper output)
{
    private const string AdminPassword = "admin-Pw-7f3a9c";

    [Fact]
    public async Task A_password_from_a_redis_url_authenticates_and_a_wrong_one_is_refused_without_leaking_it()
    {
        await using var server = await RedisServerProcess.StartNewAsync("--requirepass", AdminPassword);
        var captured = new CapturingLogger();
        await using (var memory = new RedisChatMemory($"redis://:{AdminPassword}@127.0.0.1:{server.Port}", new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() }, captured))
        {
            await memory.AppendAsync("c", "user", "hi");
            Assert.Equal(1, await memory.CountAsync("c"));
            captured.Add(memory.ToString());
        }

        const string Wrong = "wrong-Pw-91b2e0";
        var timeouts = ",connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000";
        await using (var denied = new RedisChatMemory($"127.0.0.1:{server.Port},password={Wrong}{timeouts}", logger: captured))
        {
            var error = await Assert.ThrowsAnyAsync<RedisException>(() => denied.AppendAsync("c", "user", "hi"));
            captured.Add(error.ToString());
            captured.Add(denied.ToString());
        }

        var urlError = Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory($"redis://u:{Wrong}@bad host:1/x"));
        captured.Add(urlError.ToString());

        AssertNeverContains(captured.Text, AdminPassword, Wrong);
    }

    [Fact]
    public async Task A_least_privilege_acl_user_can_do_everything_the_library_does_and_nothing_outside_its_prefix()
    {
        await using var server = await RedisServerProcess.StartNewAsync();
        var prefix = TestServers.UniquePrefix();
        const string Password = "acl-Pw-5d8e21";
        await using var admin = await ConnectionMultiplexer.ConnectAsync(((ITestServer)server).ConnectionString + ",allowAdmin=true");
        var adminServer = admin.GetServers()[0];
        await admin.GetDatabase().ExecuteAsync("ACL", ["SETUSER", "chatmem", "on", ">" + Password, .. AclRedisServer.LeastPrivilegeRules(prefix).Split(' ')]);
        await admin.GetDatabase().ExecuteAsync("ACL", "LOG", "RESET");
        await admin.GetDatabase().ListRightPushAsync("other:secret", "not yours");

        var captured = new CapturingLogger();
        var url = $"redis://chatmem:{Password}@127.0.0.1:{server.Port}";
        await using (var memory = new RedisChatMemory(url, new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = 2, Ttl = TimeSpan.FromMinutes(5) }, captured))
        {
            // Every public operation, async and sync.
            for (var i = 0; i < 6; i++)
            {
                await memory.AppendAsync("c", i % 2 == 0 ? "user" : "assistant", $"m{i}");
            }

            memory.Append("c", "user", "sync");
            Assert.Equal(["m4", "m5", "sync"], (await memory.GetHistoryAsync("c")).Select(m => m.Content).TakeLast(3));
            Assert.Equal(4, await memory.CountAsync("c"));
            Assert.Equal(4, memory.Count("c"));
            Assert.Equal(4, memory.GetHistory("c").Count);
            Assert.True(await admin.GetDatabase().KeyTimeToLiveAsync(prefix + ":c") > TimeSpan.FromMinutes(4));
            await memory.ClearAsync("c");
            memory.Clear("c2");
            Assert.Equal(0, await memory.CountAsync("c"));

            // After SCRIPT FLUSH the client sends the script body again: EVAL must be allowed too.
            await adminServer.ScriptFlushAsync();
            await memory.AppendAsync("c", "user", "after flush");
            Assert.Equal(1, await memory.CountAsync("c"));
            captured.Add(memory.ToString());
        }

        // A memory of this user under any other prefix is refused by Redis, and writes nothing.
        await using (var outside = new RedisChatMemory(url, new ChatMemoryConfig { KeyPrefix = "other" }, captured))
        {
            var refused = await Assert.ThrowsAsync<RedisServerException>(() => outside.AppendAsync("secret", "user", "overwrite"));
            Assert.Contains("NOPERM", refused.Message);
            await Assert.ThrowsAsync<RedisServerException>(() => outside.GetHistoryAsync("secret"));
            await Assert.ThrowsAsync<RedisServerException>(() => outside.ClearAsync("secret"));
            captured.Add(refused.ToString());
        }

        Assert.Equal(["not yours"], (await admin.GetDatabase().ListRangeAsync("other:secret")).Select(v => (string)v!));

        // WaitForReplicas needs EXISTS and WAIT as well (docs/security.md): with them, the only failure is the missing replica.
        await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "chatmem", "+exists", "+wait");
        await using (var waiting = new RedisChatMemory(url, new ChatMemoryConfig { KeyPrefix = prefix, WaitForReplicas = 1, WaitForReplicasTimeout = TimeSpan.FromMilliseconds(100) }, captured))
        {
            var notReplicated = await Assert.ThrowsAsync<ChatMemoryReplicationException>(() => waiting.AppendAsync("w", "user", "hi"));
            Assert.Equal(0, notReplicated.Acknowledged);
        }

        // What did Redis refuse during the whole session? The deliberate out-of-prefix calls, and the two handshake
        // probes that are refused on purpose (see AclRedisServer.LeastPrivilegeRules).
        var log = (RedisResult[])(await admin.GetDatabase().ExecuteAsync("ACL", "LOG"))!;
        var denials = log.Select(entry => ((RedisResult[])entry!).Chunk(2).ToDictionary(kv => (string)kv[0]!, kv => kv[1].ToString()))
            .Select(e => (Reason: e["reason"], Object: e["object"], Count: e["count"])).ToList();
        output.WriteLine("ACL LOG: " + string.Join("; ", denials.Select(d => $"{d.Reason} {d.Object} x{d.Count}")));
        Assert.Contains(denials, d => d is { Reason: "key", Object: "other:secret" });
        Assert.All(denials, d => Assert.Contains($"{d.Reason} {d.Object}", (string[])["key other:secret", "command get", "command config|get"]));

        AssertNeverContains(captured.Text, Password);
    }

    [Fact]
    public async Task The_acl_test_server_really_restricts_the_memory_so_the_whole_suite_runs_with_least_privilege()
    {
        // Every [Theory, AllServers] test also runs on "acl", connecting as the least-privilege user of docs/security.md.
        var server = await TestServers.GetAsync("acl");
        await using var allowed = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() });
        await using var outside = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = "elsewhere" });

        await allowed.AppendAsync("c", "user", "ok");
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => outside.AppendAsync("c", "user", "no"));

        Assert.Contains("NOPERM", refused.Message);
        Assert.Contains("user=chatmem", server.ConnectionString);
    }

    [Fact]
    public async Task Tls_with_a_ca_made_by_the_test_and_rediss_urls()
    {
        var certDir = Directory.CreateTempSubdirectory("chatmem-tls-").FullName;
        try
        {
            await MakeCertificatesAsync(certDir);
            const string Password = "tls-Pw-2c4b6d";
            await using var server = await RedisServerProcess.StartNewTlsAsync(certDir, "--requirepass", Password);

            // The CA is trusted for this connection only (not machine-wide): ConfigurationOptions.TrustIssuer.
            var options = RedisEndpoint.Parse($"rediss://:{Password}@localhost:{server.Port}");
            Assert.True(options.Ssl);
            Assert.Equal("localhost", options.SslHost);
            options.TrustIssuer(Path.Combine(certDir, "ca.crt"));
            options.ConnectTimeout = 5000;
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            await using (var memory = new RedisChatMemory(connection, new ChatMemoryConfig { KeyPrefix = TestServers.UniquePrefix() }))
            {
                await memory.AppendAsync("c", "user", "over TLS");
                Assert.Equal("over TLS", (await memory.GetHistoryAsync("c")).Single().Content);
            }

            // The rediss:// URL constructor connects over TLS and validates the certificate: a CA the machine does not
            // trust is refused (and the password is not in the error).
            var captured = new CapturingLogger();
            await using (var untrusted = new RedisChatMemory($"rediss://:{Password}@localhost:{server.Port}", logger: captured))
            {
                var error = await Assert.ThrowsAnyAsync<RedisException>(() => untrusted.CountAsync("c"));
                captured.Add(error.ToString());
                captured.Add(untrusted.ToString());
            }

            // A plain-text client cannot talk to the TLS-only port.
            await using (var plain = new RedisChatMemory($"127.0.0.1:{server.Port},password={Password},connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000"))
            {
                var error = await Assert.ThrowsAnyAsync<Exception>(() => plain.CountAsync("c"));
                Assert.True(error is RedisException or TimeoutException, error.GetType().Name);
                captured.Add(error.ToString());
            }

            AssertNeverContains(captured.Text, Password);
        }
        finally
        {
            Directory.Delete(certDir, recursive: true);
        }
    }

    public static TheoryData<string> HostileIds => new()
    {
        "*", "?", "[a-z]", "c*", "\\*", "a b  c", " leading", "line\nbreak\r\n", "tab\there", "é日本語🙂", "\u0000nul", ":", "::x", "../x",
        "{hash}tag", "x}{", "\"quoted\"", "%2A", new string('z', 10 * 1024) + "🙂",
    };

    [Theory, MemberData(nameof(HostileIds))]
    public async Task Hostile_conversation_ids_are_stored_under_the_prefix_and_read_back_exactly(string id)
    {
        await using var bed = await TestBed.CreateAsync("redis");
        await using var neighbour = await TestBed.CreateAsync("redis");
        await neighbour.Memory.AppendAsync("x", "user", "neighbour");

        await bed.Memory.AppendAsync(id, "user", "q " + id);
        bed.Memory.Append(id, "assistant", "a");

        Assert.Equal(bed.Config.KeyPrefix + ":" + id, bed.Memory.GetKey(id));
        Assert.Equal(["q " + id, "a"], (await bed.Memory.GetHistoryAsync(id)).Select(m => m.Content));
        Assert.Equal(2, await bed.Raw.ListLengthAsync(bed.Key(id)));
        var keys = await KeysUnderAsync(bed, bed.Config.KeyPrefix);
        Assert.Equal([bed.Config.KeyPrefix + ":" + id], keys);

        // Reads, counts and clears of a glob id touch only that exact key, never what the pattern would match.
        await bed.Memory.ClearAsync(id);
        Assert.Empty(await KeysUnderAsync(bed, bed.Config.KeyPrefix));
        Assert.Equal(1, await neighbour.Memory.CountAsync("x"));
    }

    [Fact]
    public async Task Glob_ids_under_an_acl_user_never_reach_keys_outside_the_prefix()
    {
        await using var server = await RedisServerProcess.StartNewAsync();
        var prefix = "app";
        await using var admin = await ConnectionMultiplexer.ConnectAsync(((ITestServer)server).ConnectionString + ",allowAdmin=true");
        await admin.GetDatabase().ExecuteAsync("ACL", ["SETUSER", "chatmem", "on", ">pw-glob-1", .. AclRedisServer.LeastPrivilegeRules(prefix).Split(' ')]);
        await using var memory = new RedisChatMemory($"redis://chatmem:pw-glob-1@127.0.0.1:{server.Port}", new ChatMemoryConfig { KeyPrefix = prefix });

        foreach (var id in new[] { "*", "x*", "[a]", "\nx", "../y", "🙂" })
        {
            await memory.AppendAsync(id, "user", id);
        }

        var keys = (await admin.GetServers()[0].KeysAsync(pattern: "*").ToListAsync()).Select(k => k.ToString()).Order().ToList();
        Assert.All(keys, k => Assert.StartsWith(prefix + ":", k));
        Assert.Equal(6, keys.Count);
    }

    private static async Task<List<string>> KeysUnderAsync(TestBed bed, string prefix)
    {
        var server = bed.RawConnection.GetServers()[0];
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: EscapeGlob(prefix) + ":*"))
        {
            keys.Add(key.ToString());
        }

        return keys;
    }

    private static string EscapeGlob(string text)
    {
        var sb = new StringBuilder();
        foreach (var ch in text)
        {
            if (ch is '*' or '?' or '[' or ']' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(ch);
        }

        return sb.ToString();
    }

    private static void AssertNeverContains(string text, params string[] secrets)
    {
        Assert.NotEmpty(text);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    private static async Task MakeCertificatesAsync(string dir)
    {
        await File.WriteAllTextAsync(Path.Combine(dir, "san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        string[][] steps =
        [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=chatmem test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-sha256", "-extfile", "san.cnf"],
        ];
        foreach (var step in steps)
        {
            var start = new ProcessStartInfo("openssl") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in step)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw;
            }

            Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', step)} failed: {await stderr}");
        }
    }

    /// <summary>Everything logged, with exceptions in full, plus anything else the test adds.</summary>
    internal sealed class CapturingLogger : ILogger<RedisChatMemory>
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public void Add(string text)
        {
            lock (_text)
            {
                _text.AppendLine(text);
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Add($"{logLevel} {eventId}: {formatter(state, exception)} {exception}");
    }
}

using System.Net;
using System.Text;
using RactoGateway.Redis.Connection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Issue 9, defect 5: a mistyped URL printed its password (<c>cannot reach Redis at http://:hunter2@...</c>), and
/// <c>new RedisChatMemory("http://:hunter2@host")</c> threw, seconds later, an exception quoting it. Property: for seeded
/// mangled URLs and configuration strings carrying a password (scheme typos, missing or extra slashes, odd characters,
/// percent-encoding, IPv6 loopback, config-string keys), the password never appears in any message, log line or output
/// of the library or of chatmem. Safety: every form the parser accepts must name a loopback endpoint, checked in-process
/// before anything connects, so no mangled URL ever makes the test reach another host.
/// </summary>
public sealed class UrlSecurityPropertyTests(ITestOutputHelper output)
{
    private const int Seed = 20261126;

    [Fact]
    public void Parse_Redact_Describe_and_the_constructor_never_echo_a_password_of_a_mangled_url()
    {
        var port = Loopback.FreePort();
        var cases = Generate(new Random(Seed), port, 900);
        int refused = 0, accepted = 0;
        foreach (var c in cases)
        {
            var seen = new StringBuilder();
            seen.AppendLine(RedisEndpoint.Redact(c.Url));
            try
            {
                var options = RedisEndpoint.Parse(c.Url);
                accepted++;
                AssertLoopbackOnly(options, c);
                seen.AppendLine(RedisEndpoint.Describe(options));
            }
            catch (ArgumentException ex)
            {
                refused++;
                Assert.Equal("url", ex.ParamName);
                seen.AppendLine(ex.ToString());

                // The constructor refuses it the same way, at once: before any network I/O.
                var ctor = Assert.ThrowsAny<ArgumentException>(() => new RedisChatMemory(c.Url));
                seen.AppendLine(ctor.ToString());
                if (c.ForeignScheme)
                {
                    Assert.Contains("use redis:// or rediss://", ex.Message);
                }
            }

            AssertNoSecret(seen.ToString(), c);
        }

        output.WriteLine($"seed {Seed}: {cases.Count} mangled URLs, {refused} refused, {accepted} accepted (all loopback)");
        Assert.True(refused > 300 && accepted > 50, $"the generator should produce both kinds ({refused} refused, {accepted} accepted)");
    }

    [Fact]
    public async Task Accepted_mangled_urls_that_cannot_connect_never_echo_the_password_in_exceptions_logs_or_ToString()
    {
        var port = Loopback.FreePort();
        var sample = Generate(new Random(Seed + 1), port, 400).Where(Accepted).Take(24).ToList();
        Assert.NotEmpty(sample);

        await Task.WhenAll(sample.Select(c => Task.Run(async () =>
        {
            var logger = new SecurityTests.CapturingLogger();
            AssertLoopbackOnly(RedisEndpoint.Parse(c.Url), c);
            await using var memory = new RedisChatMemory(c.Url, logger: logger);
            var error = await Assert.ThrowsAnyAsync<Exception>(() => memory.CountAsync("c"));
            logger.Add(error.ToString());
            logger.Add(memory.ToString());
            AssertNoSecret(logger.Text, c);
            Assert.True(error is RedisException or TimeoutException, error.ToString());
        })));
        output.WriteLine($"{sample.Count} accepted URLs connected to closed loopback port {port}; no password in any exception or log");
    }

    [Fact]
    public async Task Chatmem_never_prints_the_password_of_a_mangled_url()
    {
        var port = Loopback.FreePort();
        var all = Generate(new Random(Seed + 2), port, 600);

        // A bounded sample (a process per case): both kinds, the issue's own examples first.
        string[] issue = ["http", "tcp"];
        var sample = all.Where(c => c.ForeignScheme && issue.Contains(c.Scheme)).Take(4)
            .Concat(all.Where(c => c.Url.Contains("redis:/", StringComparison.Ordinal) && !c.Url.Contains("redis://", StringComparison.Ordinal)).Take(3))
            .Concat(all.Where(c => c.Url.StartsWith("redis//", StringComparison.Ordinal)).Take(2))
            .Concat(all.Where(c => !Accepted(c)).Take(15))
            .Concat(all.Where(Accepted).Take(8))
            .DistinctBy(c => c.Url)
            .ToList();

        using var gate = new SemaphoreSlim(3);
        var runs = await Task.WhenAll(sample.Select(async c =>
        {
            var accepted = Accepted(c);
            if (accepted)
            {
                AssertLoopbackOnly(RedisEndpoint.Parse(c.Url), c);
            }

            await gate.WaitAsync();
            try
            {
                return (Case: c, Accepted: accepted, Run: await Chatmem.RunAsync("--redis", c.Url, "count", "c1"));
            }
            finally
            {
                gate.Release();
            }
        }));

        foreach (var (c, accepted, run) in runs)
        {
            AssertNoSecret(run.Stdout + run.Stderr, c);
            Assert.True(run.Code == (accepted ? 1 : 2), $"{c.Url}: exit {run.Code}, {run.Stderr}");
            Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            if (c.ForeignScheme)
            {
                Assert.Contains("use redis:// or rediss://", run.Stderr);
            }
        }

        output.WriteLine($"{runs.Length} chatmem runs ({runs.Count(r => r.Accepted)} reachable forms to closed port {port}); no password printed");
    }

    private sealed record Case(string Url, string Secret, string Scheme, bool ForeignScheme);

    private static bool Accepted(Case c)
    {
        try
        {
            RedisEndpoint.Parse(c.Url);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Nothing that parses may name a host other than loopback: the test never connects anywhere else.</summary>
    private static void AssertLoopbackOnly(ConfigurationOptions options, Case c)
    {
        Assert.NotEmpty(options.EndPoints);
        foreach (var endPoint in options.EndPoints)
        {
            var loopback = endPoint switch
            {
                IPEndPoint ip => IPAddress.IsLoopback(ip.Address),
                DnsEndPoint dns => dns.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase),
                _ => false,
            };
            Assert.True(loopback, $"{RedisEndpoint.Redact(c.Url)} parsed to a non-loopback endpoint {RedisEndpoint.Describe(endPoint)}; the mangled form was misread");
        }
    }

    /// <summary>The secret is a random token inside the password: neither it nor its lower-case form (a host name is
    /// lower-cased) may show.</summary>
    private static void AssertNoSecret(string text, Case c)
    {
        if (text.Contains(c.Secret, StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"the password of case #{c.Url.Length}/{c.Scheme} appeared: {text.Replace(c.Secret, "<SECRET>", StringComparison.OrdinalIgnoreCase)}");
        }
    }

    private static List<Case> Generate(Random random, int port, int count)
    {
        string[] schemes = ["redis", "rediss", "REDIS", "Rediss", "http", "https", "tcp", "redis+tls", "unix", "rdis", "reddis", "valkey", "ftp", "redis-cluster", "red1s"];
        string[] separators = ["://", "://", "://", ":/", ":", "//", ":///", ":\\\\", "/", "\\\\", ":////", " ://"];
        string[] hosts = ["127.0.0.1", "[::1]", "localhost", "[0:0:0:0:0:0:0:1]"];
        string[] odd = ["", "", "@", ":", "/", "%", "%40", "#", "?", " ", "=", "é", "🙂", "\\", "+", "&", ";", "[", "]", "'", "\"", "%zz", "%3A", "$", "!", "~", "*", "\t"];
        var cases = new List<Case>(count);
        while (cases.Count < count)
        {
            var secret = "Pw" + Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()))[..12];
            var host = hosts[random.Next(hosts.Length)];
            var hostPort = random.Next(4) == 0 ? host : $"{host}:{port}";
            if (random.Next(4) == 0)
            {
                // Configuration-string forms (a password there cannot contain a comma: StackExchange.Redis splits on it).
                var password = Pick(random, odd, ",") + secret + Pick(random, odd, ",");
                string[] forms =
                [
                    $"{hostPort},password={password}",
                    $"{hostPort}, Password = {password}",
                    $"{hostPort},user=alice,password={password},connectTimeout=500",
                    $"password={password},{hostPort}",
                    $"{hostPort},pasword={password}",
                    $"{hostPort},passwd={password}",
                    $"{hostPort},password={password},connectTimeout=abc",
                    $"{hostPort};password={password}",
                    $"{hostPort} password={password}",
                    $"redis://{hostPort},password={password}",
                    $"{hostPort},{hostPort},password:{password}",
                ];
                cases.Add(new Case(Space(random) + forms[random.Next(forms.Length)] + Space(random), secret, "", false));
                continue;
            }

            var scheme = schemes[random.Next(schemes.Length)];
            var separator = separators[random.Next(separators.Length)];
            var raw = Pick(random, odd, null) + secret + Pick(random, odd, null);
            var encoded = Uri.EscapeDataString(raw);
            string[] userInfos =
            [
                $":{raw}", raw, $"alice:{raw}", $"default:{raw}", $":{encoded}", $"alice:{encoded}", encoded, $"alice@{raw}",
                $"alice;{raw}", $":{raw}:", $"@:{raw}", $":{raw}@", $"alice:{raw}:x", $"%3A{encoded}",
            ];
            string[] tails = ["", "", "/0", "/1", "/x", "?db=0", "#f", "/0/", "/", "?password=" + encoded, ",connectTimeout=1"];
            var userInfo = userInfos[random.Next(userInfos.Length)];
            var url = random.Next(12) switch
            {
                // User-info after the host. (A bare password there is a host name by the URL grammar: not a shape a parser can catch.)
                0 => $"{scheme}{separator}{hostPort}@{(random.Next(2) == 0 ? ":" : "alice:")}{raw}",
                1 => $"{scheme}{separator}{hostPort}/?password={encoded}",
                _ => $"{scheme}{separator}{userInfo}@{hostPort}{tails[random.Next(tails.Length)]}",
            };
            var foreign = separator == "://" && !scheme.Equals("redis", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase);
            cases.Add(new Case(Space(random) + url + Space(random), secret, scheme, foreign));
        }

        return cases;
    }

    private static string Pick(Random random, string[] odd, string? except)
    {
        var value = odd[random.Next(odd.Length)];
        return except is not null && value.Contains(except, StringComparison.Ordinal) ? "" : value;
    }

    private static string Space(Random random) => random.Next(8) == 0 ? " " : "";
}

using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Wire;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Seeded properties over thousands of inputs, without a server: every message the codec encodes (escaping, unicode,
/// every optional field) decodes to itself and to the same text through an independent JSON reader, with the id marker
/// append.lua looks for right after the role; and no URL or configuration-string form in a cross product of schemes,
/// separators, user-info shapes, hosts and tails lets a password through Redact, Parse's errors or Describe.
/// </summary>
public sealed class CodecRoundTripTests
{
    private static readonly string[] Pieces = ["a", "Z", "0", " ", "é", "日", "🙂", "\"", "\\", "/", "\n", "\r", "\t", "\u0000", "\u001f", "\u007f", "\u2028", "<", ">", "&", "'", "+", "%", "{", "}", "\uD83D\uDE00"];

    private static string Text(Random random, int max) => string.Concat(Enumerable.Range(0, random.Next(max + 1)).Select(_ => Pieces[random.Next(Pieces.Length)]));

    [Fact]
    public void Five_thousand_random_messages_with_every_field_round_trip_exactly()
    {
        var random = new Random(20261205);
        string[] roles = ["user", "assistant", "system", "tool"];
        for (var i = 0; i < 5_000; i++)
        {
            var role = roles[random.Next(roles.Length)];
            var message = new ChatMemoryMessage(role, Text(random, 30))
            {
                MessageId = random.Next(2) == 0 ? null : "id" + Text(random, 6),
                AuthorName = random.Next(4) == 0 ? Text(random, 8) : null,
                Timestamp = random.Next(4) == 0 ? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(random.Next(-12, 13))).AddTicks(random.NextInt64(1L << 50)) : null,
                ToolCalls = role == "assistant" && random.Next(3) == 0
                    ? [.. Enumerable.Range(0, random.Next(1, 4)).Select(k => new ChatMemoryToolCall("c" + k + Text(random, 3), "f" + Text(random, 3), "{\"q\":" + JsonSerializer.Serialize(Text(random, 10)) + "}"))]
                    : null,
                ToolCallId = role == "tool" && random.Next(2) == 0 ? "c" + Text(random, 4) : null,
                Metadata = random.Next(5) == 0 ? new Dictionary<string, string> { ["k" + Text(random, 3)] = Text(random, 10) } : null,
            };

            var element = MessageCodec.Encode(message);

            Assert.Equal(message, MessageCodec.TryDecodeJson(element));
            using var json = JsonDocument.Parse(element);
            Assert.Equal(message.Content, json.RootElement.GetProperty("content").GetString());
            Assert.Equal(role, json.RootElement.EnumerateObject().First().Value.GetString());
            Assert.Equal(message.IsPlain, json.RootElement.EnumerateObject().Count() == 2);
            if (message.MessageId is { } id)
            {
                var marker = MessageCodec.IdMarker(id);
                var head = Encoding.UTF8.GetByteCount("{\"role\":\"" + role + "\"");
                Assert.Equal(marker, element.AsSpan(head, marker.Length).ToArray());
            }
        }
    }

    [Fact]
    public void No_form_of_a_url_or_configuration_string_lets_its_password_through()
    {
        const string Token = "Sekr3tTok9";
        string[] passwords = [Token, Token + "%40x", "x%3A" + Token, Token + "é", Token + "@", "@" + Token, Token + "/", Token + "#", Token + "?"];
        string[] schemes = ["redis", "rediss", "REDIS", "http", "tcp", "redis+tls", "valkey"];
        string[] separators = ["://", ":/", "//", ":", ":\\\\", ":///", "/"];
        string[] hosts = ["127.0.0.1:6379", "[::1]:7000", "localhost", "h:1"];
        string[] tails = ["", "/0", "/x", "?db=0", "#f"];
        var cases = new List<string>();
        foreach (var password in passwords)
        {
            // password + ":" is the mistyped separator (redis://secret:@host): the part before the colon is the password.
            string[] userInfos = [":" + password, password, password + ":", "alice:" + password, "alice:" + password + ":x", "@:" + password];
            foreach (var scheme in schemes)
            {
                foreach (var separator in separators)
                {
                    foreach (var userInfo in userInfos)
                    {
                        foreach (var host in hosts)
                        {
                            cases.AddRange(tails.Select(tail => $"{scheme}{separator}{userInfo}@{host}{tail}"));
                        }
                    }
                }
            }

            foreach (var host in hosts)
            {
                cases.AddRange([
                    $"{host},password={password}", $"{host}, Password = {password}", $"password={password},{host}", $"{host},pasword={password}",
                    $"{host},user=alice,password={password},connectTimeout=5", $"{host},passwd={password}", $"{host};password={password}",
                ]);
            }
        }

        Assert.True(cases.Count > 10_000, $"{cases.Count} cases");
        int refused = 0, accepted = 0;
        foreach (var url in cases)
        {
            var seen = RedisEndpoint.Redact(url);
            try
            {
                seen += RedisEndpoint.Describe(RedisEndpoint.Parse(url));
                accepted++;
            }
            catch (ArgumentException ex)
            {
                Assert.Equal("url", ex.ParamName);
                seen += ex.ToString();
                refused++;
            }

            Assert.False(seen.Contains(Token, StringComparison.OrdinalIgnoreCase), $"{RedisEndpoint.Redact(url)}: {seen.Replace(Token, "<TOKEN>", StringComparison.OrdinalIgnoreCase)}");
        }

        Assert.True(refused > 40_000 && accepted > 500, $"{refused} refused, {accepted} accepted");
    }
}

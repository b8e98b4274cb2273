using RactoGateway.Redis;
using StackExchange.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "TLS": the snippet verbatim; the parameters are its free variables.</summary>
internal static class Tls
{
    public static async Task RunAsync()
    {
var options = ConfigurationOptions.Parse("redis.internal:6380,ssl=true,sslHost=redis.internal,password=...");
options.TrustIssuer("/etc/redis/ca.crt");
var memory = new RedisChatMemory(await ConnectionMultiplexer.ConnectAsync(options));
// or let the memory open and own it: new RedisChatMemory(options, config)
    }
}

// dotnet add package Microsoft.Extensions.Hosting
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace ReadmeSnippets;

/// <summary>README.md, "Dependency injection": the snippet verbatim; the parameters are its free variables.</summary>
internal static class DependencyInjection
{
    public static void Run(string[] args)
    {
var builder = Host.CreateApplicationBuilder(args);
// appsettings.json: { "ChatMemory": { "MaxTurns": 20, "Ttl": "00:30:00",
//                                    "Window": { "PinSystemMessages": true, "MaxPinnedMessages": 8 } } }
builder.Services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect("localhost"));
builder.Services.AddRedisChatMemory();                            // reuses the registered multiplexer
// or: builder.Services.AddRedisChatMemory("redis://localhost:6379", c => c.MaxTurns = 20);
    }
}

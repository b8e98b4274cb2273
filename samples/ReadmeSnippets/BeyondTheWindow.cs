// dotnet add package Microsoft.Extensions.Hosting
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ReadmeSnippets;

/// <summary>README.md, "Beyond the window": the snippet verbatim; the parameters are its free variables.</summary>
internal static class BeyondTheWindow
{
    public static void Run(string[] args, IChatClient summaryModel)
    {
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddChatClient(summaryModel);                // any IChatClient: often a small, cheap model
builder.Services.AddRedisChatMemory("redis://localhost:6379", c =>
{
    c.Summarize = true;                     // keep what leaves the window for the summary
    c.Window.PinSystemMessages = true;
}).AddSummarizer(o => o.MaxSummaryTokens = 500);             // runs in a hosted service
    }
}

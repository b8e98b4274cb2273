using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Mcp;

/// <summary>
/// Runs the MCP server of <c>chatmem mcp</c>: on stdio (stdout carries the protocol and nothing else; logs and notes
/// go to stderr), or on streamable HTTP bound to 127.0.0.1 only, whatever the environment says.
/// </summary>
internal static class McpHost
{
    /// <summary>Where the streamable HTTP endpoint is served.</summary>
    public const string HttpPath = "/mcp";

    public static async Task<int> RunAsync(MemorySession session, ChatMemoryConfig config, McpSettings settings, CancellationToken cancellationToken)
    {
        // Refuse to start against a server that cannot be reached, with chatmem's usual line and exit code.
        var probe = await session.ConnectAsync();
        await probe.GetDatabase().PingAsync();

        using var loggerFactory = LoggerFactory.Create(logging => Stderr(logging, settings.Verbose));
        using var memory = new McpMemory(session, config);
        var logger = loggerFactory.CreateLogger("chatmem.mcp");
        List<McpServerTool> tools = [.. GuardedTool.Of(new MemoryTools(memory), memory.Endpoint, logger)];
        if (settings.AllowErase)
        {
            tools.AddRange(GuardedTool.Of(new EraseTools(memory), memory.Endpoint, logger));
        }

        var where = session.IsEmbedded ? $"the embedded server ({memory.Endpoint})" : memory.Endpoint;
        var instructions = $"Conversation memory (RactoGateway.Redis) on {where}, key prefix '{config.KeyPrefix}', {config.MaxTurns} turns " +
            "per window. get_history reads a conversation, append adds to it, get_summary and search_memory reach what left its window." +
            (settings.AllowErase ? " clear_conversation and erase_owner delete and cannot be undone." : "");
        return settings.Http
            ? await RunHttpAsync(tools, instructions, settings.Port, where, settings.Verbose, cancellationToken)
            : await RunStdioAsync(tools, instructions, where, loggerFactory, cancellationToken);
    }

    private static async Task<int> RunStdioAsync(List<McpServerTool> tools, string instructions, string where, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var options = Options(tools, instructions);

        // stdout is the protocol: anything printed by mistake (a library banner) goes to stderr instead. The transport
        // writes to the standard output stream itself, not through Console.Out.
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        try
        {
            await Console.Error.WriteLineAsync($"chatmem: MCP server on stdio; memory on {where}");
            await using var transport = new StdioServerTransport(options, loggerFactory);
            await using var server = McpServer.Create(transport, options, loggerFactory);
            // Returns when the client closes stdin; Ctrl-C (or SIGTERM) cancels it.
            await server.RunAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            Console.SetOut(stdout);
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> RunHttpAsync(
        List<McpServerTool> tools, string instructions, int port, string where, bool verbose, CancellationToken cancellationToken)
    {
        // The empty builder reads no configuration at all (no ASPNETCORE_URLS, no Kestrel section, no appsettings): the
        // one endpoint is the loopback one below.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "chatmem" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        Stderr(builder.Logging, verbose);
        // A failure to start is thrown to chatmem, which reports it in one line: the host need not log it too.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddRoutingCore();
        builder.Services.AddMcpServer(o =>
        {
            o.ServerInfo = ServerInfo;
            o.ServerInstructions = instructions;
        }).WithHttpTransport().WithTools(tools);

        await using var app = builder.Build();
        app.Use(LoopbackOnly);
        app.MapMcp(HttpPath);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex) when (port != 0)
        {
            // The port the user chose is taken: bad input (exit 2), not a bug.
            throw new ArgumentException($"--port {port}: cannot listen on 127.0.0.1:{port} ({(ex.InnerException ?? ex).Message.TrimEnd('.')}).", ex);
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        if (addresses.Count != 1 || !Uri.TryCreate(addresses.First(), UriKind.Absolute, out var address) || !IPAddress.IsLoopback(IPAddress.Parse(address.Host)))
        {
            // Cannot happen with the binding above; checked because the promise is "loopback only".
            await app.StopAsync(CancellationToken.None);
            throw new InvalidOperationException($"the HTTP server bound {string.Join(", ", addresses)}, not only the loopback address");
        }

        await Console.Error.WriteLineAsync($"chatmem: MCP server (streamable HTTP) at http://127.0.0.1:{address.Port}{HttpPath}; memory on {where}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        await app.StopAsync(CancellationToken.None);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Requests whose Host is not a loopback name, or that come from a web page of another origin, are refused (403):
    /// a page in the user's browser could otherwise reach the server through DNS rebinding.
    /// </summary>
    private static async Task LoopbackOnly(HttpContext context, RequestDelegate next)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (!IsLoopbackName(context.Request.Host.Host)
            || (origin.Length > 0 && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && IsLoopbackName(uri.Host))))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync("chatmem mcp answers loopback requests only (Host 127.0.0.1 or localhost, no foreign Origin).");
            return;
        }

        await next(context);
    }

    private static bool IsLoopbackName(string host) =>
        host is "localhost" or "127.0.0.1" or "[::1]" or "::1";

    private static McpServerOptions Options(List<McpServerTool> tools, string instructions)
    {
        var options = new McpServerOptions { ServerInfo = ServerInfo, ServerInstructions = instructions, ToolCollection = [] };
        foreach (var tool in tools)
        {
            options.ToolCollection.Add(tool);
        }

        return options;
    }

    private static Implementation ServerInfo => new()
    {
        Name = "chatmem",
        Title = "RactoGateway.Redis conversation memory",
        Version = typeof(McpHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
    };

    /// <summary>Logs on stderr only, one line each: warnings and errors, or everything from Information with --verbose.</summary>
    private static void Stderr(ILoggingBuilder logging, bool verbose) =>
        logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning)
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
}

/// <summary>The options of <c>chatmem mcp</c>.</summary>
internal sealed record McpSettings(bool Http, int Port, bool AllowErase, bool Verbose);

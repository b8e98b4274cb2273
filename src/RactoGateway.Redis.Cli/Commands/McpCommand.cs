using System.CommandLine;
using System.Globalization;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Cli.Mcp;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem mcp [--http [--port N]] [--allow-erase]</c>: serves the memory over the Model Context Protocol (the
/// official SDK), on stdio by default or on streamable HTTP bound to 127.0.0.1. Tools: get_history, get_summary,
/// append, search_memory, list_conversations, set_owner; clear_conversation and erase_owner only with --allow-erase.
/// Runs until the client closes stdin (stdio) or Ctrl-C / SIGTERM; exit 0. See docs/mcp.md.
/// </summary>
internal static class McpCommand
{
    public static Command Create()
    {
        var http = new Option<bool>("--http")
        {
            Description = $"Serve streamable HTTP at http://127.0.0.1:<port>{McpHost.HttpPath} instead of stdio (loopback only; the URL is printed on stderr).",
        };
        var port = new Option<int?>("--port")
        {
            Description = "With --http: the loopback port, 0 (the default) for a free one.",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 65535)
                {
                    return value;
                }

                r.AddError($"--port must be a whole number between 0 and 65535 (was '{text}')");
                return null;
            },
        };
        var allowErase = new Option<bool>("--allow-erase")
        {
            Description = "Also offer clear_conversation and erase_owner, which delete and cannot be undone; without it they are not listed at all.",
        };
        var command = new Command("mcp", "Serve the memory to MCP clients (Claude Desktop, VS Code, agents): read a conversation and its summary, " +
            "append, search earlier messages (recall: needs vector sets), list an owner's conversations; erasure only with --allow-erase. " +
            "stdio by default (stdout is the protocol; notes and logs go to stderr); --http serves 127.0.0.1 only. " +
            "On the embedded server, other chatmem commands on the same --data-dir wait while it runs.")
        {
            http, port, allowErase,
        };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, session =>
        {
            var serveHttp = parsed.GetValue(http);
            if (parsed.GetValue(port) is not null && !serveHttp)
            {
                throw new ArgumentException("--port applies with --http.");
            }

            var settings = new McpSettings(serveHttp, parsed.GetValue(port) ?? 0, parsed.GetValue(allowErase), parsed.GetValue(CliOptions.Verbose));
            return McpHost.RunAsync(session, CliOptions.Config(parsed), settings, ct);
        }));
        return command;
    }
}

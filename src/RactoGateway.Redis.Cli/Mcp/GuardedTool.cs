using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using RactoGateway.Redis.Cli.Hosting;

namespace RactoGateway.Redis.Cli.Mcp;

/// <summary>
/// A tool whose every failure reaches the client as a tool error (<c>isError: true</c>) with one clear line: bad
/// arguments (the library's own checks, made before any I/O, or arguments the SDK could not bind) name the argument;
/// server failures are worded as chatmem words them (<see cref="MemorySession.Classify"/>: host:port, never a
/// password). The SDK itself would forward only an <see cref="McpException"/>'s message and hide every other behind
/// "An error occurred invoking ...". A bug is also logged, with its trace, on stderr.
/// </summary>
internal sealed class GuardedTool(McpServerTool inner, string endpoint, ILogger logger) : DelegatingMcpServerTool(inner)
{
    /// <summary>The tools of <paramref name="target"/> (its methods marked <see cref="McpServerToolAttribute"/>), each guarded.</summary>
    public static IEnumerable<McpServerTool> Of(object target, string endpoint, ILogger logger) =>
        target.GetType().GetMethods(BindingFlags.Instance | BindingFlags.Public)
            .Where(m => m.GetCustomAttribute<McpServerToolAttribute>() is not null)
            .Select(m => new GuardedTool(Create(m, target), endpoint, logger));

    public override async ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default)
    {
        try
        {
            return await base.InvokeAsync(request, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var message = ex is JsonException ? WrongType(request.Params?.Arguments) ?? Describe(ex) : Describe(ex);
            if (message is null)
            {
                LogBug(logger, ProtocolTool.Name, ex);
                message = MemorySession.Classify(ex, endpoint).Message;
            }

            return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = message }] };
        }
    }

    /// <summary>The line for a failure, naming the tool's argument; <see langword="null"/> for a bug.</summary>
    private string? Describe(Exception ex)
    {
        switch (ex)
        {
            case McpException:
                return ex.Message;
            case ArgumentException argument:
                return Argument(argument);
            case JsonException json:
                return $"Bad arguments: {json.Message}";
            default:
                var (code, message) = MemorySession.Classify(ex, endpoint);
                return code == ExitCodes.Bug ? null : message;
        }
    }

    /// <summary>The first argument whose JSON type is not the one the tool's input schema gives (the SDK's binding error
    /// says only "Path: $"), e.g. <c>role: must be a string (was a number)</c>; <see langword="null"/> if none.</summary>
    private string? WrongType(IDictionary<string, JsonElement>? arguments)
    {
        if (arguments is null || !ProtocolTool.InputSchema.TryGetProperty("properties", out var properties))
        {
            return null;
        }

        foreach (var (name, value) in arguments)
        {
            if (!properties.TryGetProperty(name, out var schema) || !schema.TryGetProperty("type", out var type))
            {
                continue;
            }

            var allowed = type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString())] : new[] { type.GetString() };
            var kind = value.ValueKind switch
            {
                JsonValueKind.String => "string",
                JsonValueKind.Number => value.TryGetInt32(out _) ? "integer" : "number",
                JsonValueKind.True or JsonValueKind.False => "boolean",
                JsonValueKind.Null => "null",
                JsonValueKind.Array => "array",
                _ => "object",
            };
            if (!allowed.Contains(kind) && !(kind == "integer" && allowed.Contains("number")))
            {
                var wanted = allowed.FirstOrDefault(t => t != "null") switch
                {
                    "string" => "a string",
                    "integer" => "a whole number",
                    { } other => $"of type {other}",
                    null => "null",
                };
                return $"{name}: must be {wanted} (was {(kind is "integer" or "number" ? "a number" : kind is "null" ? "null" : "a " + kind)}).";
            }
        }

        return null;
    }

    /// <summary>The library's message (without .NET's "(Parameter 'x')" and "Actual value was" additions), prefixed by
    /// the argument of this tool it is about unless it names it already.</summary>
    private static string Argument(ArgumentException ex)
    {
        var message = ex.Message;
        if (ex.ParamName is not { } param)
        {
            return message;
        }

        var cut = message.IndexOf($" (Parameter '{param}')", StringComparison.Ordinal);
        message = cut < 0 ? message : message[..cut];
        var argument = param switch
        {
            "conversationId" or "conversation" => "conversation",
            "role" or "content" or "owner" or "query" or "top" => param,
            _ => null,
        };
        return argument is null || message.StartsWith(argument + " ", StringComparison.Ordinal) ? message : $"{argument}: {message}";
    }

    private static readonly Action<ILogger, string, Exception?> LogBug =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(1, "ToolFailed"), "chatmem mcp: {Tool} failed unexpectedly (a bug)");
}

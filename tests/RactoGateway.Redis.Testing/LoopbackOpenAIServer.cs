using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Offline;

namespace RactoGateway.Redis.Testing;

/// <summary>
/// An OpenAI-compatible <c>POST /v1/chat/completions</c> on 127.0.0.1 (a free port), answered by a
/// <see cref="StrictChatClient"/>: the same validator, the same scripted answers, the same record of calls and
/// rejections. JSON and SSE streaming (<c>"stream": true</c>), tool calls both ways. A refused request gets the
/// provider's 400 body. Point an OpenAI client (or <c>chatmem chat --endpoint</c>) at <see cref="BaseUrl"/>.
/// </summary>
public sealed class LoopbackOpenAIServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;
    private readonly List<string> _bodies = [];

    private LoopbackOpenAIServer(HttpListener listener, int port, StrictChatClient model)
    {
        _listener = listener;
        Port = port;
        Model = model;
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The model behind the endpoint.</summary>
    public StrictChatClient Model { get; }

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:{port}/v1</c>: the base URL an OpenAI client takes.</summary>
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/v1");

    /// <summary>The raw JSON bodies received, in order.</summary>
    public IReadOnlyList<string> RequestBodies
    {
        get
        {
            lock (_bodies)
            {
                return [.. _bodies];
            }
        }
    }

    /// <summary>Starts an endpoint on a free loopback port, answered by <paramref name="model"/> (a new strict model by default).</summary>
    public static LoopbackOpenAIServer Start(StrictChatClient? model = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Servers.Loopback.FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return new LoopbackOpenAIServer(listener, port, model ?? new StrictChatClient());
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                // Someone took the port between the probe and the bind: try another.
                listener.Close();
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Close alone, never Stop then Close: on Linux (the managed HttpListener) each of them removes the listener from its
        // endpoint, and the second removal looks the endpoint up again, which binds the port anew; when another test's
        // server has taken the freed port meanwhile, Close throws "Address already in use".
        _listener.Close();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            if (context.Request.HttpMethod != "POST" || context.Request.Url?.AbsolutePath.TrimEnd('/') != "/v1/chat/completions")
            {
                await WriteJsonAsync(response, 404, """{"error":{"message":"Unknown path.","type":"invalid_request_error","param":null,"code":"unknown_url"}}""").ConfigureAwait(false);
                return;
            }

            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                body = await reader.ReadToEndAsync().ConfigureAwait(false);
            }

            lock (_bodies)
            {
                _bodies.Add(body);
            }

            JsonNode? request;
            try
            {
                request = JsonNode.Parse(body);
            }
            catch (JsonException ex)
            {
                await WriteErrorAsync(response, new ProviderError("openai", null, "We could not parse the JSON body of your request. " + ex.Message)).ConfigureAwait(false);
                return;
            }

            var (messages, wireError) = ParseMessages(request?["messages"]);
            if (wireError is not null)
            {
                await WriteErrorAsync(response, wireError).ConfigureAwait(false);
                return;
            }

            var options = new ChatOptions { ModelId = (string?)request?["model"], Tools = ParseTools(request?["tools"]) };
            ChatResponse answer;
            try
            {
                answer = Model.Answer(messages, options);
            }
            catch (ProviderRejectedException rejected)
            {
                await WriteErrorAsync(response, rejected.Error).ConfigureAwait(false);
                return;
            }
            catch (Exception ex)
            {
                await WriteJsonAsync(response, 500, new JsonObject { ["error"] = new JsonObject { ["message"] = ex.Message, ["type"] = "server_error" } }.ToJsonString()).ConfigureAwait(false);
                return;
            }

            if (request?["stream"]?.GetValue<bool>() == true)
            {
                await WriteStreamAsync(response, answer, request["stream_options"]?["include_usage"]?.GetValue<bool>() == true).ConfigureAwait(false);
            }
            else
            {
                await WriteJsonAsync(response, 200, Completion(answer).ToJsonString()).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The client went away.
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    /// <summary>The wire messages as M.E.AI messages; a message missing what the wire format itself needs is refused here,
    /// the rest by <see cref="ProviderRules"/> in the model.</summary>
    private static (List<ChatMessage> Messages, ProviderError? Error) ParseMessages(JsonNode? node)
    {
        var messages = new List<ChatMessage>();
        if (node is not JsonArray array)
        {
            return (messages, new ProviderError("openai", "messages", "Missing required parameter: 'messages'."));
        }

        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject wire || wire["role"]?.GetValueKind() != JsonValueKind.String)
            {
                return (messages, new ProviderError("openai", $"messages.[{i}].role", $"Missing required parameter: 'messages[{i}].role'."));
            }

            var role = wire["role"]!.GetValue<string>();
            var contents = new List<AIContent>();
            var content = wire["content"];
            if (role == "tool")
            {
                if (wire["tool_call_id"]?.GetValueKind() != JsonValueKind.String)
                {
                    return (messages, new ProviderError("openai", $"messages.[{i}].tool_call_id", $"Missing required parameter: 'messages[{i}].tool_call_id'."));
                }

                if (content is null)
                {
                    return (messages, new ProviderError("openai", $"messages.[{i}].content", $"Missing required parameter: 'messages[{i}].content'."));
                }

                contents.Add(new FunctionResultContent(wire["tool_call_id"]!.GetValue<string>(), TextOf(content)));
            }
            else
            {
                if (content is JsonValue)
                {
                    contents.Add(new TextContent(content.GetValue<string>()));
                }
                else if (content is JsonArray parts)
                {
                    foreach (var part in parts)
                    {
                        switch ((string?)part?["type"])
                        {
                            case "text":
                                contents.Add(new TextContent((string?)part!["text"] ?? ""));
                                break;
                            case "image_url":
                                contents.Add(new UriContent(new Uri((string)part!["image_url"]!["url"]!), "image/*"));
                                break;
                            default:
                                return (messages, new ProviderError("openai", $"messages.[{i}].content", $"Invalid content part type '{part?["type"]}' in messages[{i}]."));
                        }
                    }
                }

                foreach (var call in wire["tool_calls"] as JsonArray ?? [])
                {
                    var arguments = (string?)call?["function"]?["arguments"] ?? "";
                    Dictionary<string, object?>? parsed;
                    try
                    {
                        parsed = JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments, AIJsonUtilities.DefaultOptions);
                    }
                    catch (JsonException)
                    {
                        parsed = null;
                    }

                    contents.Add(new FunctionCallContent((string?)call?["id"] ?? "", (string?)call?["function"]?["name"] ?? "", parsed));
                }
            }

            messages.Add(new ChatMessage(new ChatRole(role), contents));
        }

        return (messages, null);
    }

    private static string TextOf(JsonNode content) => content is JsonArray parts
        ? string.Concat(parts.Select(p => (string?)p?["text"] ?? ""))
        : content.GetValueKind() == JsonValueKind.String ? content.GetValue<string>() : content.ToJsonString();

    private static List<AITool>? ParseTools(JsonNode? node)
    {
        if (node is not JsonArray { Count: > 0 } tools)
        {
            return null;
        }

        var declared = new List<AITool>();
        foreach (var tool in tools)
        {
            var function = tool?["function"];
            using var schema = JsonDocument.Parse(function?["parameters"]?.ToJsonString() ?? """{"type":"object"}""");
            declared.Add(AIFunctionFactory.CreateDeclaration((string?)function?["name"] ?? "", (string?)function?["description"], schema.RootElement.Clone()));
        }

        return declared;
    }

    private static JsonObject Completion(ChatResponse answer)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = answer.Text.Length > 0 ? answer.Text : null };
        var calls = ToolCalls(answer);
        if (calls.Count > 0)
        {
            message["tool_calls"] = calls;
        }

        return new JsonObject
        {
            ["id"] = answer.ResponseId,
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = answer.ModelId,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = FinishReason(answer) }),
            ["usage"] = Usage(),
        };
    }

    private static JsonArray ToolCalls(ChatResponse answer)
    {
        var calls = new JsonArray();
        foreach (var call in answer.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>())
        {
            calls.Add(new JsonObject
            {
                ["index"] = calls.Count,
                ["id"] = call.CallId,
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = call.Name,
                    ["arguments"] = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions),
                },
            });
        }

        return calls;
    }

    private static string FinishReason(ChatResponse answer) => answer.FinishReason == ChatFinishReason.ToolCalls ? "tool_calls" : "stop";

    private static JsonObject Usage() => new() { ["prompt_tokens"] = 1, ["completion_tokens"] = 1, ["total_tokens"] = 2 };

    private static async Task WriteStreamAsync(HttpListenerResponse response, ChatResponse answer, bool includeUsage)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.SendChunked = true;
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = answer.ResponseId,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = answer.ModelId,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };

        var events = new List<JsonObject> { Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null) };
        events.AddRange(StrictChatClient.Pieces(answer.Text).Select(piece => Chunk(new JsonObject { ["content"] = piece }, null)));
        foreach (var call in ToolCalls(answer))
        {
            events.Add(Chunk(new JsonObject { ["tool_calls"] = new JsonArray(call!.DeepClone()) }, null));
        }

        events.Add(Chunk([], FinishReason(answer)));
        if (includeUsage)
        {
            var usage = Chunk([], null);
            usage["choices"] = new JsonArray();
            usage["usage"] = Usage();
            events.Add(usage);
        }

        var output = response.OutputStream;
        foreach (var e in events)
        {
            await output.WriteAsync(Encoding.UTF8.GetBytes($"data: {e.ToJsonString()}\n\n")).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
        }

        await output.WriteAsync("data: [DONE]\n\n"u8.ToArray()).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpListenerResponse response, ProviderError error) => WriteJsonAsync(response, error.Status, error.ToJson());

    private static async Task WriteJsonAsync(HttpListenerResponse response, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
    }
}

using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Recall;

/// <summary>
/// The <c>search_memory</c> tool: an <see cref="AIFunction"/> with an explicit JSON schema (no reflection, so trimming
/// and native AOT keep it whole) that searches long-term recall for the messages that have left the window and answers
/// with JSON the model reads: <c>{"recalled":[{"role","text","time","conversation","position"}...]}</c>: the best
/// matches, oldest first (as <see cref="ChatMemoryRecall.ToContextMessage"/> orders them), so the model reads them as a
/// story, and the same matches always read the same whatever the server's scoring. Bad arguments, a call with no conversation and a server without vector sets are answered as
/// <c>{"recalled":[],"error":"..."}</c>, so the model reads what went wrong instead of the call failing.
/// </summary>
/// <remarks>Made by <see cref="ChatMemoryRecall.CreateSearchTool"/>; the middleware and the agent provider offer a copy
/// bound to the call's conversation (<see cref="Bind"/>).</remarks>
internal sealed class ChatMemorySearchTool : AIFunction
{
    /// <summary>How every result of the tool starts. A stored <c>tool</c> message that starts so is one of its results,
    /// which recall does not index again (it would be found in place of the messages it quotes).</summary>
    internal const string ResultPrefix = "{\"recalled\":";

    private const string QueryArgument = "query";
    private const string TopArgument = "top";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ChatMemoryRecall _recall;
    private readonly ChatMemorySearchToolOptions _options;
    private readonly string? _boundConversationId;
    private readonly JsonElement _schema;

    /// <summary>A tool over <paramref name="recall"/> with <paramref name="options"/> (validated, owned by the tool).</summary>
    internal ChatMemorySearchTool(ChatMemoryRecall recall, ChatMemorySearchToolOptions options)
        : this(recall, options, Schema(options), null)
    {
    }

    private ChatMemorySearchTool(ChatMemoryRecall recall, ChatMemorySearchToolOptions options, JsonElement schema, string? boundConversationId)
    {
        _recall = recall;
        _options = options;
        _schema = schema;
        _boundConversationId = boundConversationId;
    }

    /// <inheritdoc />
    public override string Name => _options.Name;

    /// <inheritdoc />
    public override string Description => _options.Description;

    /// <inheritdoc />
    public override JsonElement JsonSchema => _schema;

    /// <summary>The settings the tool was made with.</summary>
    internal ChatMemorySearchToolOptions Options => _options;

    /// <summary>The same tool, searching <paramref name="conversationId"/> unless its options fix another.</summary>
    internal ChatMemorySearchTool Bind(string conversationId) => new(_recall, _options, _schema, conversationId);

    /// <summary>Whether <paramref name="message"/> is a stored result of this tool.</summary>
    internal static bool IsResult(ChatMemoryMessage message) =>
        message.Role == ChatRoles.Tool && message.Content.StartsWith(ResultPrefix, StringComparison.Ordinal);

    /// <inheritdoc />
    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (Parse(arguments, out var query, out var top) is { } error)
        {
            return Error(error);
        }

        var conversationId = _options.ConversationId ?? _boundConversationId ?? FunctionInvokingChatClient.CurrentContext?.Options?.ConversationId;
        if (string.IsNullOrWhiteSpace(conversationId))
        {
            return Error($"{Name} does not know which conversation to search: offer it through the memory middleware " +
                "(ChatMemoryChatClientOptions.RecallMode) or the agent recall provider, call it with ChatOptions.ConversationId set, " +
                "or set ChatMemorySearchToolOptions.ConversationId.");
        }

        try
        {
            var owner = _options.Scope == ChatMemorySearchScope.Owner ? await _recall.OwnerOfAsync(conversationId, cancellationToken).ConfigureAwait(false) : null;
            var hits = owner is null
                ? await _recall.RecallAsync(conversationId, query, top, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await _recall.RecallForOwnerAsync(owner, query, top, cancellationToken).ConfigureAwait(false);
            return Result(hits);
        }
        catch (NotSupportedException ex)
        {
            return Error("Long-term memory is not available on this server. " + ex.Message);
        }
    }

    /// <summary>The arguments' rules: <c>query</c> a non-empty string, <c>top</c> (optional) a whole number from 1 to
    /// <see cref="ChatMemorySearchToolOptions.MaxTop"/>, nothing else.</summary>
    /// <returns>The first rule broken, naming the argument; <see langword="null"/> when the arguments are valid.</returns>
    private string? Parse(AIFunctionArguments arguments, out string query, out int top)
    {
        query = "";
        top = _options.DefaultTop;
        foreach (var name in arguments.Keys)
        {
            if (name is not (QueryArgument or TopArgument))
            {
                return $"Unknown argument '{name}': {Name} takes 'query' (required) and 'top' (optional).";
            }
        }

        switch (arguments.TryGetValue(QueryArgument, out var q) ? q : null)
        {
            case null:
            case JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined }:
                return "'query' is required: what to look for, in words.";
            case string s:
                query = s;
                break;
            case JsonElement { ValueKind: JsonValueKind.String } e:
                query = e.GetString()!;
                break;
            default:
                return "'query' must be a string: what to look for, in words.";
        }

        if (string.IsNullOrWhiteSpace(query))
        {
            return "'query' must not be empty: what to look for, in words.";
        }

        query = query.Trim();
        if (arguments.TryGetValue(TopArgument, out var t) && t is not (null or JsonElement { ValueKind: JsonValueKind.Null }))
        {
            if (WholeNumber(t) is not { } n || n < 1 || n > _options.MaxTop)
            {
                return $"'top' must be a whole number between 1 and {_options.MaxTop} (was {Shown(t)}).";
            }

            top = (int)n;
        }

        return null;
    }

    private static long? WholeNumber(object value) => value switch
    {
        int i => i,
        long l => l,
        short s => s,
        byte b => b,
        uint u => u,
        double d when double.IsFinite(d) && Math.Floor(d) == d && Math.Abs(d) < 1e15 => (long)d,
        float f when float.IsFinite(f) && MathF.Floor(f) == f && Math.Abs(f) < 1e15 => (long)f,
        decimal m when decimal.Floor(m) == m && Math.Abs(m) < 1e15m => (long)m,
        string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) => parsed,
        JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetInt64(out var n) => n,
        JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetDouble(out var d) => WholeNumber(d),
        JsonElement { ValueKind: JsonValueKind.String } e => WholeNumber(e.GetString()!),
        _ => null,
    };

    private static string Shown(object value) => value switch
    {
        JsonElement e => e.GetRawText(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Result(IReadOnlyList<RecalledMessage> hits) => Write(writer =>
    {
        writer.WriteStartArray("recalled");
        foreach (var hit in hits.OrderBy(h => h.ConversationId, StringComparer.Ordinal).ThenBy(h => h.Position))
        {
            var message = hit.Message;
            writer.WriteStartObject();
            writer.WriteString("role", message.Role);
            writer.WriteString("text", message.Content);
            if (message.Timestamp is { } time)
            {
                writer.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            }

            writer.WriteString("conversation", hit.ConversationId);
            writer.WriteNumber("position", hit.Position);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (hits.Count == 0)
        {
            writer.WriteString("note", "Nothing found. Long-term memory holds only messages that have left the recent history.");
        }
    });

    private static string Error(string error) => Write(writer =>
    {
        writer.WriteStartArray("recalled");
        writer.WriteEndArray();
        writer.WriteString("error", error);
    });

    private static string Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static JsonElement Schema(ChatMemorySearchToolOptions options)
    {
        var text = Write(writer =>
        {
            writer.WriteString("type", "object");
            writer.WriteStartObject("properties");
            writer.WriteStartObject(QueryArgument);
            writer.WriteString("type", "string");
            writer.WriteString("description", "What to look for, in words: a topic, a name, a question.");
            writer.WriteEndObject();
            writer.WriteStartObject(TopArgument);
            writer.WriteString("type", "integer");
            writer.WriteNumber("minimum", 1);
            writer.WriteNumber("maximum", options.MaxTop);
            writer.WriteString("description", $"How many messages to return at most (default {options.DefaultTop}).");
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteStartArray("required");
            writer.WriteStringValue(QueryArgument);
            writer.WriteEndArray();
            writer.WriteBoolean("additionalProperties", false);
        });
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Tests;

/// <summary>The <c>search_memory</c> tool without a server: its schema, its settings, and every argument it refuses,
/// answered as a tool error (JSON the model reads) before any I/O (the memory points at a closed port and never
/// connects). The searches themselves, on real servers, are in the integration tier.</summary>
public sealed class RecallToolTests
{
    private static RedisChatMemory Memory() => new("127.0.0.1:1", new ChatMemoryConfig { Summarize = true })
    {
        Features = new ChatMemoryFeatures().AddRecall(new WordHashEmbeddingGenerator()),
    };

    private static async Task<string> ErrorOf(AIFunction tool, AIFunctionArguments arguments)
    {
        var result = Assert.IsType<string>(await tool.InvokeAsync(arguments));
        using var json = JsonDocument.Parse(result);
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("recalled").ValueKind);
        Assert.Equal(0, json.RootElement.GetProperty("recalled").GetArrayLength());
        return json.RootElement.GetProperty("error").GetString()!;
    }

    [Fact]
    public void The_tool_has_an_explicit_schema_with_the_bound_on_top()
    {
        using var memory = Memory();
        var recall = memory.GetRequiredService<ChatMemoryRecall>();
        var tool = recall.CreateSearchTool();

        Assert.Equal("search_memory", tool.Name);
        Assert.Equal(ChatMemorySearchToolOptions.DefaultDescription, tool.Description);
        Assert.Equal(
            """{"type":"object","properties":{"query":{"type":"string","description":"What to look for, in words: a topic, a name, a question."},"top":{"type":"integer","minimum":1,"maximum":20,"description":"How many messages to return at most (default 5)."}},"required":["query"],"additionalProperties":false}""",
            tool.JsonSchema.GetRawText());
        Assert.Null(tool.UnderlyingMethod);   // no reflection over a delegate

        var custom = recall.CreateSearchTool(new ChatMemorySearchToolOptions { Name = "recall-notes", Description = "Notes.", DefaultTop = 2, MaxTop = ChatMemoryRecall.MaxTop });
        Assert.Equal("recall-notes", custom.Name);
        Assert.Equal("Notes.", custom.Description);
        Assert.Equal(ChatMemoryRecall.MaxTop, custom.JsonSchema.GetProperty("properties").GetProperty("top").GetProperty("maximum").GetInt32());
        Assert.Contains("(default 2)", custom.JsonSchema.GetProperty("properties").GetProperty("top").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "Name")]
    [InlineData("search memory", "Name")]
    [InlineData("a_name_that_is_far_too_long_for_any_provider_to_accept_as_a_tool_name", "Name")]
    public void Bad_tool_names_are_refused(string name, string property)
    {
        using var memory = Memory();
        var error = Assert.Throws<ArgumentException>(() => memory.GetRequiredService<ChatMemoryRecall>().CreateSearchTool(new() { Name = name }));
        Assert.Equal("options", error.ParamName);
        Assert.Contains("ChatMemorySearchToolOptions." + property, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_settings_are_refused_naming_the_setting()
    {
        using var memory = Memory();
        var recall = memory.GetRequiredService<ChatMemoryRecall>();
        string Refused(ChatMemorySearchToolOptions options) => Assert.Throws<ArgumentException>(() => recall.CreateSearchTool(options)).Message;

        Assert.Contains("Description", Refused(new() { Description = " " }), StringComparison.Ordinal);
        Assert.Contains("MaxTop must be a whole number between 1 and 1000 (was 0)", Refused(new() { MaxTop = 0 }), StringComparison.Ordinal);
        Assert.Contains("MaxTop", Refused(new() { MaxTop = ChatMemoryRecall.MaxTop + 1 }), StringComparison.Ordinal);
        Assert.Contains("DefaultTop", Refused(new() { DefaultTop = 21 }), StringComparison.Ordinal);
        Assert.Contains("DefaultTop", Refused(new() { DefaultTop = 0 }), StringComparison.Ordinal);
        Assert.Contains("Scope", Refused(new() { Scope = (ChatMemorySearchScope)7 }), StringComparison.Ordinal);
        Assert.Contains("ConversationId", Refused(new() { ConversationId = "" }), StringComparison.Ordinal);
        Assert.Null(new ChatMemorySearchToolOptions().GetValidationError());

        // Copied when made: a later change does not reach the tool.
        var options = new ChatMemorySearchToolOptions { Name = "first" };
        var tool = recall.CreateSearchTool(options);
        options.Name = "second";
        Assert.Equal("first", tool.Name);
    }

    [Fact]
    public async Task Bad_arguments_are_answered_as_a_tool_error_before_any_io()
    {
        using var memory = Memory();
        var tool = memory.GetRequiredService<ChatMemoryRecall>().CreateSearchTool(new() { ConversationId = "c" });
        static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

        Assert.Contains("'query' is required", await ErrorOf(tool, new()), StringComparison.Ordinal);
        Assert.Contains("'query' is required", await ErrorOf(tool, new() { ["query"] = null }), StringComparison.Ordinal);
        Assert.Contains("'query' is required", await ErrorOf(tool, new() { ["query"] = Json("null") }), StringComparison.Ordinal);
        Assert.Contains("'query' must not be empty", await ErrorOf(tool, new() { ["query"] = "  " }), StringComparison.Ordinal);
        Assert.Contains("'query' must not be empty", await ErrorOf(tool, new() { ["query"] = Json("\"\"") }), StringComparison.Ordinal);
        Assert.Contains("'query' must be a string", await ErrorOf(tool, new() { ["query"] = 42 }), StringComparison.Ordinal);
        Assert.Contains("'query' must be a string", await ErrorOf(tool, new() { ["query"] = Json("[\"dog\"]") }), StringComparison.Ordinal);

        Assert.Equal("'top' must be a whole number between 1 and 20 (was 0).", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = 0 }));
        Assert.Equal("'top' must be a whole number between 1 and 20 (was 21).", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = Json("21") }));
        Assert.Equal("'top' must be a whole number between 1 and 20 (was 2.5).", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = Json("2.5") }));
        Assert.Equal("'top' must be a whole number between 1 and 20 (was -3).", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = -3L }));
        Assert.Equal("'top' must be a whole number between 1 and 20 (was \"many\").", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = Json("\"many\"") }));
        Assert.Equal("'top' must be a whole number between 1 and 20 (was true).", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = Json("true") }));
        Assert.Equal("'top' must be a whole number between 1 and 20 (was 1E+300).", await ErrorOf(tool, new() { ["query"] = "dog", ["top"] = 1e300 }));

        Assert.Contains("Unknown argument 'filter'", await ErrorOf(tool, new() { ["query"] = "dog", ["filter"] = ".role == \"user\"" }), StringComparison.Ordinal);

        // No conversation fixed, bound or in a function-invoking client's options: said, not thrown.
        var unbound = memory.GetRequiredService<ChatMemoryRecall>().CreateSearchTool();
        Assert.Contains("does not know which conversation to search", await ErrorOf(unbound, new() { ["query"] = "dog" }), StringComparison.Ordinal);
    }

    [Fact]
    public void The_middleware_checks_the_mode_against_RecallTop_when_it_is_made()
    {
        using var memory = Memory();
        using var bare = new RedisChatMemory("127.0.0.1:1", new ChatMemoryConfig { Summarize = true });
        var options = new ChatMemoryChatClientOptions();
        Assert.Equal(ChatMemoryRecallMode.Automatic, options.RecallMode);
        Assert.Equal("RecallMode", Assert.Throws<ArgumentOutOfRangeException>(() => options.RecallMode = (ChatMemoryRecallMode)3).ParamName);

        ArgumentException Refused(IChatMemory m, ChatMemoryChatClientOptions o) =>
            Assert.Throws<ArgumentException>(() => new ChatMemoryChatClient(new StrictChatClient(), m, o));

        Assert.Contains("RecallTop is not set", Refused(memory, new() { RecallMode = ChatMemoryRecallMode.Both }).Message, StringComparison.Ordinal);
        Assert.Contains("RecallTop is set", Refused(memory, new() { RecallMode = ChatMemoryRecallMode.OnDemand, RecallTop = 3 }).Message, StringComparison.Ordinal);
        Assert.Contains("no ChatMemoryRecall", Refused(bare, new() { RecallMode = ChatMemoryRecallMode.OnDemand }).Message, StringComparison.Ordinal);
        Assert.Contains("ChatMemorySearchToolOptions.Name", Refused(memory, new() { RecallMode = ChatMemoryRecallMode.OnDemand, SearchTool = new() { Name = "a b" } }).Message, StringComparison.Ordinal);
        Assert.Equal("options", Refused(memory, new() { RecallMode = ChatMemoryRecallMode.Both }).ParamName);

        using var onDemand = new ChatMemoryChatClient(new StrictChatClient(), memory, new() { RecallMode = ChatMemoryRecallMode.OnDemand });
        using var both = new ChatMemoryChatClient(new StrictChatClient(), memory, new() { RecallMode = ChatMemoryRecallMode.Both, RecallTop = 2 });
    }

    [Fact]
    public async Task A_tool_of_the_same_name_in_the_request_is_refused_before_the_model_is_called()
    {
        await using var memory = Memory();
        var model = new StrictChatClient();
        using var client = new ChatMemoryChatClient(model, memory, new() { RecallMode = ChatMemoryRecallMode.OnDemand });
        var mine = AIFunctionFactory.Create(() => "x", "search_memory");

        // Refused where the options are built (before the history is read, so no connection is tried either).
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync("hi", new ChatOptions { ConversationId = "c", Tools = [mine] }));
        Assert.Contains("already has a tool named 'search_memory'", error.Message, StringComparison.Ordinal);
        Assert.Empty(model.Calls);
    }
}

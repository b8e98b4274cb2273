namespace RactoGateway.Redis.Tests;

/// <summary>
/// <see cref="MessageRules"/>: what a message must be to be stored (roles, content, optional fields consistent with the
/// role, MaxMessageBytes in UTF-8 bytes of all its free text), each error naming the caller's parameter, and the import's
/// wording in the stored JSON's field names. Directly, without a server (ValidationTests and the import tests check
/// that the write paths go through here).
/// </summary>
public sealed class MessageRulesTests
{
    private static MessageRules Rules(Action<ChatMemoryConfig>? configure = null)
    {
        var config = new ChatMemoryConfig();
        configure?.Invoke(config);
        return new MessageRules(config);
    }

    private static ChatMemoryToolCall Call(string id = "c1", string name = "f", string arguments = "{}") => new(id, name, arguments);

    [Theory]
    [InlineData("user")]
    [InlineData("assistant")]
    [InlineData("system")]
    [InlineData("tool")]
    public void The_four_known_roles_are_stored_as_given(string role)
    {
        var message = Rules().Plain(role, "hi");

        Assert.Equal(new ChatMemoryMessage(role, "hi"), message);
        Assert.True(message.IsPlain);
    }

    [Theory]
    [InlineData("User")]
    [InlineData("USER")]
    [InlineData("developer")]
    [InlineData("critic")]
    [InlineData(" user")]
    [InlineData("user ")]
    [InlineData("función")]
    public void Other_roles_are_refused_naming_role_unless_custom_roles_are_allowed(string role)
    {
        var error = Assert.Throws<ArgumentException>(() => Rules().Plain(role, "hi"));

        Assert.Equal("role", error.ParamName);
        Assert.Contains($"Role '{role}' is not one of user, assistant, system or tool", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowCustomRoles", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("critic")]
    [InlineData("User")]
    [InlineData("agent-7.planner_v2")]
    [InlineData("a")]
    public void Allowed_custom_roles_are_identifiers(string role) =>
        Assert.Equal(role, Rules(c => c.AllowCustomRoles = true).Plain(role, "x").Role);

    [Theory]
    [InlineData(" user")]
    [InlineData("two words")]
    [InlineData("función")]
    [InlineData("quote\"d")]
    [InlineData("back\\slash")]
    [InlineData("new\nline")]
    [InlineData("colon:x")]
    [InlineData("emoji🙂")]
    public void A_custom_role_that_is_not_an_identifier_is_refused_even_when_custom_roles_are_allowed(string role)
    {
        // append.lua reads the role from the element's bytes without a JSON parser: it must never need escaping.
        var error = Assert.Throws<ArgumentException>(() => Rules(c => c.AllowCustomRoles = true).Plain(role, "x"));

        Assert.Equal("role", error.ParamName);
        Assert.Contains("letters, digits, '_', '-' or '.'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_and_empty_role_or_null_content_are_refused_naming_the_parameter()
    {
        Assert.Equal("role", Assert.ThrowsAny<ArgumentException>(() => Rules().Plain(null!, "x")).ParamName);
        Assert.Equal("role", Assert.ThrowsAny<ArgumentException>(() => Rules().Plain("", "x")).ParamName);
        Assert.Equal("content", Assert.ThrowsAny<ArgumentException>(() => Rules().Plain("user", null!)).ParamName);

        // Empty content is a message (an assistant that only calls tools, a tool with an empty result).
        Assert.Equal("", Rules().Plain("user", "").Content);
    }

    [Fact]
    public void MaxMessageBytes_counts_UTF8_bytes_and_the_bound_itself_is_accepted()
    {
        var rules = Rules(c => c.MaxMessageBytes = 12);

        Assert.Equal(12, rules.Plain("user", new string('x', 12)).Content.Length);
        Assert.Equal(6, rules.Plain("user", new string('é', 6)).Content.Length);      // 2 bytes each
        Assert.Equal(6, rules.Plain("user", "🙂🙂🙂").Content.Length);                // 4 bytes each, 2 chars each
        Assert.Equal("日本語本", rules.Plain("user", "日本語本").Content);               // 3 bytes each

        var ascii = Assert.Throws<ArgumentException>(() => rules.Plain("user", new string('x', 13)));
        var twoByte = Assert.Throws<ArgumentException>(() => rules.Plain("user", new string('é', 7)));
        var fourByte = Assert.Throws<ArgumentException>(() => rules.Plain("user", "🙂🙂🙂x"));
        var threeByte = Assert.Throws<ArgumentException>(() => rules.Plain("user", "日本語本x"));

        Assert.Equal("content", ascii.ParamName);
        Assert.Contains("The message text is 13 UTF-8 bytes, over ChatMemoryConfig.MaxMessageBytes (12)", ascii.Message, StringComparison.Ordinal);
        Assert.Contains("is 14 UTF-8 bytes", twoByte.Message, StringComparison.Ordinal);
        Assert.Contains("is 13 UTF-8 bytes", fourByte.Message, StringComparison.Ordinal);
        Assert.Contains("is 13 UTF-8 bytes", threeByte.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tool_call_arguments_and_extra_contents_count_toward_MaxMessageBytes()
    {
        var rules = Rules(c => c.MaxMessageBytes = 10);
        var over = new ChatMemoryMessage("assistant", "abcd") { ToolCalls = [Call(arguments: "{\"a\":1}")] };           // 4 + 7
        var under = new ChatMemoryMessage("assistant", "abc") { ToolCalls = [Call(arguments: "{\"a\":1}")] };           // 3 + 7
        var twoCalls = new ChatMemoryMessage("assistant", "") { ToolCalls = [Call("a", arguments: "12345"), Call("b", arguments: "123456")] };
        var extra = new ChatMemoryMessage("user", "abc") { ExtraContentsJson = "[1,2,3,4]" };                          // 3 + 9

        Assert.Same(under, rules.Checked(under, "message"));
        Assert.Equal("message", Assert.Throws<ArgumentException>(() => rules.Checked(over, "message")).ParamName);
        Assert.Contains("is 11 UTF-8 bytes", Assert.Throws<ArgumentException>(() => rules.Checked(twoCalls, "m")).Message, StringComparison.Ordinal);
        Assert.Contains("is 12 UTF-8 bytes", Assert.Throws<ArgumentException>(() => rules.Checked(extra, "m")).Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, ChatMemoryMessage, string, string> Broken => new()
    {
        { "summary", new ChatMemoryMessage("system", "gist") { IsSummary = true }, "written by the summarizer only", "a rolling summary is written by the summarizer only" },
        { "empty id", new ChatMemoryMessage("user", "x") { MessageId = "" }, "MessageId must be null or non-empty", "\"id\" is empty" },
        { "calls on a user", new ChatMemoryMessage("user", "x") { ToolCalls = [Call()] }, "Only an 'assistant' message can carry ToolCalls", "only an assistant message can carry \"tool_calls\"" },
        { "calls on a tool", new ChatMemoryMessage("tool", "x") { ToolCalls = [Call()], ToolCallId = "c1" }, "Only an 'assistant' message can carry ToolCalls", "only an assistant message can carry \"tool_calls\"" },
        { "call id on an assistant", new ChatMemoryMessage("assistant", "x") { ToolCallId = "c1" }, "Only a 'tool' message can carry a ToolCallId", "only a tool message can carry \"tool_call_id\"" },
        { "empty call id", new ChatMemoryMessage("tool", "x") { ToolCallId = "" }, "ToolCallId must be null or non-empty", "\"tool_call_id\" is empty" },
        { "call without id", new ChatMemoryMessage("assistant", "") { ToolCalls = [Call(id: "")] }, "Every tool call needs an Id, a Name and Arguments", "every tool call needs an id, a name and arguments" },
        { "call without name", new ChatMemoryMessage("assistant", "") { ToolCalls = [Call(), Call("c2", name: "")] }, "Every tool call needs an Id, a Name and Arguments", "every tool call needs an id, a name and arguments" },
        { "call without arguments", new ChatMemoryMessage("assistant", "") { ToolCalls = [Call(arguments: null!)] }, "Every tool call needs an Id, a Name and Arguments", "every tool call needs an id, a name and arguments" },
        { "null call", new ChatMemoryMessage("assistant", "") { ToolCalls = [null!] }, "Every tool call needs an Id, a Name and Arguments", "every tool call needs an id, a name and arguments" },
        { "null content", new ChatMemoryMessage("user", null!), "Content must not be null", "\"content\" is missing" },
        { "unknown role", new ChatMemoryMessage("wizard", "x"), "Role 'wizard' is not one of user, assistant, system or tool", "role 'wizard' is not one of user, assistant, system or tool" },
        { "empty role", new ChatMemoryMessage("", "x"), "The role must not be empty", "role '' is not a role" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_message_breaking_a_rule_is_refused_with_the_APIs_words_and_the_import_gets_the_JSONs_words(string what, ChatMemoryMessage message, string api, string wire)
    {
        var rules = Rules();

        var error = Assert.Throws<ArgumentException>(() => rules.Checked(message, "messages"));

        Assert.Equal("messages", error.ParamName);
        Assert.True(error.Message.Contains(api, StringComparison.Ordinal), $"{what}: {error.Message}");
        Assert.True(rules.WireError(message)?.Contains(wire, StringComparison.Ordinal) == true, $"{what}: {rules.WireError(message)}");
    }

    [Fact]
    public void A_valid_rich_message_passes_unchanged_and_has_no_wire_error()
    {
        var rules = Rules();
        var call = new ChatMemoryMessage("assistant", "") { MessageId = "m1", ToolCalls = [Call("a"), Call("b")], AuthorName = "bot" };
        var result = new ChatMemoryMessage("tool", "") { ToolCallId = "a", MessageId = "m2", Metadata = new Dictionary<string, string> { ["k"] = "v" } };

        Assert.Same(call, rules.Checked(call, "m"));
        Assert.Same(result, rules.Checked(result, "m"));
        Assert.Null(rules.WireError(call));
        Assert.Null(rules.WireError(result));
    }

    [Fact]
    public void A_turn_is_a_user_message_then_an_assistant_message()
    {
        var rules = Rules();

        Assert.Equal([new("user", "q"), new ChatMemoryMessage("assistant", "a")], rules.Turn(new("user", "q"), new("assistant", "a")));

        var swapped = Assert.Throws<ArgumentException>(() => rules.Turn(new("assistant", "a"), new("user", "q")));
        var twoUsers = Assert.Throws<ArgumentException>(() => rules.Turn(new("user", "q"), new("user", "q")));
        var badAssistant = Assert.Throws<ArgumentException>(() => rules.Turn(new("user", "q"), new("assistant", "x") { ToolCallId = "c" }));

        Assert.Equal("user", swapped.ParamName);
        Assert.Contains("A turn starts with a 'user' message (was 'assistant')", swapped.Message, StringComparison.Ordinal);
        Assert.Equal("assistant", twoUsers.ParamName);
        Assert.Contains("A turn ends with an 'assistant' message (was 'user')", twoUsers.Message, StringComparison.Ordinal);
        Assert.Equal("assistant", badAssistant.ParamName);
        Assert.Equal("user", Assert.Throws<ArgumentNullException>(() => rules.Turn(null!, new("assistant", "a"))).ParamName);
    }

    [Fact]
    public void A_batch_of_ten_thousand_is_refused_whole_for_its_last_bad_message_naming_messages()
    {
        var rules = Rules(c => c.MaxMessageBytes = 100);
        var batch = Enumerable.Range(0, 10_000).Select(i => new ChatMemoryMessage(i % 2 == 0 ? "user" : "assistant", "m" + i) { MessageId = "id" + i }).ToList();

        Assert.Equal(batch, rules.Batch(batch));
        Assert.Empty(rules.Batch([]));

        batch[^1] = batch[^1] with { Content = new string('x', 101) };
        var error = Assert.Throws<ArgumentException>(() => rules.Batch(batch));
        Assert.Equal("messages", error.ParamName);
        Assert.Contains("is 101 UTF-8 bytes", error.Message, StringComparison.Ordinal);

        batch[^1] = new ChatMemoryMessage("user", "ok");
        batch[5_000] = null!;
        Assert.Equal("messages", Assert.Throws<ArgumentNullException>(() => rules.Batch(batch)).ParamName);
        Assert.Equal("messages", Assert.Throws<ArgumentNullException>(() => rules.Batch(null!)).ParamName);
    }

    [Fact]
    public void A_long_role_is_shown_cut_to_40_characters_in_import_errors()
    {
        var role = new string('r', 41);

        Assert.Equal(new string('r', 40) + "…", MessageRules.Shown(role));
        Assert.Equal(new string('r', 40), MessageRules.Shown(new string('r', 40)));
        Assert.Contains($"role '{new string('r', 40)}…' is not one of", Rules().WireError(new ChatMemoryMessage(role, "x")), StringComparison.Ordinal);
    }
}

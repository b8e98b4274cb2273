namespace RactoGateway.Redis.Tests;

/// <summary>
/// <see cref="ChatMemoryConfig.GetValidationError"/>: every bound is accepted at its edge and refused one step past it,
/// with a message naming the setting and the value; the defaults are ractogateway's and valid; a copy does not share the
/// window. (Constructors and AddRedisChatMemory report the same error: ValidationTests, DependencyInjectionTests.)
/// </summary>
public sealed class ChatMemoryConfigTests
{
    [Fact]
    public void The_defaults_are_valid_and_ractogateways()
    {
        var config = new ChatMemoryConfig();

        Assert.Null(config.GetValidationError());
        Assert.Equal((10, 20, "ractogateway:memory", 1024 * 1024, 1, 1000), (config.MaxTurns, config.WindowSize, config.KeyPrefix, config.MaxMessageBytes, config.Connections, config.MaxPendingMessages));
        Assert.Null(config.Ttl);
        Assert.True(config.Window.IsSeedRule);
        Assert.Equal(ChatMemoryWindow.DefaultMaxPinnedMessages, config.Window.MaxPinnedMessages);
        Assert.False(config.AllowCustomRoles || config.Summarize || config.IncludeConversationIdInTelemetry);
        Assert.Equal((0, TimeSpan.FromSeconds(1)), (config.WaitForReplicas, config.WaitForReplicasTimeout));
    }

    public static TheoryData<string, Action<ChatMemoryConfig>> Edges => new()
    {
        { "MaxTurns=1", c => c.MaxTurns = 1 },
        { "MaxTurns=max", c => c.MaxTurns = int.MaxValue / 2 },
        { "Ttl=1s", c => c.Ttl = TimeSpan.FromSeconds(1) },
        { "Ttl=100y", c => c.Ttl = TimeSpan.FromDays(365 * 100) },
        { "KeyPrefix=x", c => c.KeyPrefix = "x" },
        { "KeyPrefix=space", c => c.KeyPrefix = " " },
        { "MaxMessageBytes=1", c => c.MaxMessageBytes = 1 },
        { "MaxMessageBytes=512MiB", c => c.MaxMessageBytes = ChatMemoryConfig.MaxMessageBytesLimit },
        { "MaxPinnedMessages=1", c => c.Window.MaxPinnedMessages = 1 },
        { "WaitForReplicas=0", c => c.WaitForReplicas = 0 },
        { "WaitForReplicas=big", c => c.WaitForReplicas = int.MaxValue },
        { "WaitForReplicasTimeout=1ms", c => c.WaitForReplicasTimeout = TimeSpan.FromMilliseconds(1) },
        { "WaitForReplicasTimeout=1h", c => c.WaitForReplicasTimeout = TimeSpan.FromHours(1) },
        { "MaxPendingMessages=1", c => c.MaxPendingMessages = 1 },
        { "MaxPendingMessages=max", c => c.MaxPendingMessages = ChatMemoryConfig.MaxPendingMessagesLimit },
        { "Connections=1", c => c.Connections = 1 },
        { "Connections=16", c => c.Connections = ChatMemoryConfig.MaxConnections },
    };

    [Theory]
    [MemberData(nameof(Edges))]
    public void Every_bound_is_accepted_at_its_edge(string what, Action<ChatMemoryConfig> set)
    {
        var config = new ChatMemoryConfig();
        set(config);

        Assert.True(config.GetValidationError() is null, $"{what}: {config.GetValidationError()}");
    }

    public static TheoryData<Action<ChatMemoryConfig>, string> PastTheEdge => new()
    {
        { c => c.MaxTurns = 0, "ChatMemoryConfig.MaxTurns must be between 1 and 1073741823 (was 0)." },
        { c => c.MaxTurns = int.MaxValue / 2 + 1, "ChatMemoryConfig.MaxTurns must be between 1 and 1073741823 (was 1073741824)." },
        { c => c.MaxTurns = int.MinValue, "ChatMemoryConfig.MaxTurns must be between 1 and 1073741823 (was -2147483648)." },
        { c => c.Ttl = TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1), "ChatMemoryConfig.Ttl must be null or between 1 second and 100 years (was 00:00:00.9999999)." },
        { c => c.Ttl = TimeSpan.FromDays(365 * 100) + TimeSpan.FromTicks(1), "ChatMemoryConfig.Ttl must be null or between 1 second and 100 years" },
        { c => c.Ttl = TimeSpan.FromSeconds(-5), "ChatMemoryConfig.Ttl must be null or between 1 second and 100 years (was -00:00:05)." },
        { c => c.KeyPrefix = "", "ChatMemoryConfig.KeyPrefix must not be empty." },
        { c => c.KeyPrefix = null!, "ChatMemoryConfig.KeyPrefix must not be empty." },
        { c => c.MaxMessageBytes = 0, "ChatMemoryConfig.MaxMessageBytes must be between 1 and 536870912 (was 0)." },
        { c => c.MaxMessageBytes = ChatMemoryConfig.MaxMessageBytesLimit + 1, "ChatMemoryConfig.MaxMessageBytes must be between 1 and 536870912 (was 536870913)." },
        { c => c.Window = null!, "ChatMemoryConfig.Window must not be null." },
        { c => c.Window.MaxPinnedMessages = 0, "ChatMemoryConfig.Window.MaxPinnedMessages must be at least 1 (was 0)." },
        { c => c.WaitForReplicas = -1, "ChatMemoryConfig.WaitForReplicas must be 0 (off) or more (was -1)." },
        { c => c.WaitForReplicasTimeout = TimeSpan.FromMilliseconds(1) - TimeSpan.FromTicks(1), "ChatMemoryConfig.WaitForReplicasTimeout must be between 1 millisecond and 1 hour" },
        { c => c.WaitForReplicasTimeout = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1), "ChatMemoryConfig.WaitForReplicasTimeout must be between 1 millisecond and 1 hour" },
        { c => c.MaxPendingMessages = 0, "ChatMemoryConfig.MaxPendingMessages must be between 1 and 1000000 (was 0)." },
        { c => c.MaxPendingMessages = ChatMemoryConfig.MaxPendingMessagesLimit + 1, "ChatMemoryConfig.MaxPendingMessages must be between 1 and 1000000 (was 1000001)." },
        { c => c.Connections = 0, "ChatMemoryConfig.Connections must be between 1 and 16 (was 0)." },
        { c => c.Connections = ChatMemoryConfig.MaxConnections + 1, "ChatMemoryConfig.Connections must be between 1 and 16 (was 17)." },
    };

    [Theory]
    [MemberData(nameof(PastTheEdge))]
    public void One_step_past_a_bound_is_refused_naming_the_setting_and_the_value(Action<ChatMemoryConfig> set, string expected)
    {
        var config = new ChatMemoryConfig();
        set(config);

        Assert.StartsWith(expected, config.GetValidationError(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_broken_rule_is_reported_in_declaration_order()
    {
        var config = new ChatMemoryConfig { MaxTurns = 0, KeyPrefix = "", Connections = 0 };

        Assert.StartsWith("ChatMemoryConfig.MaxTurns", config.GetValidationError(), StringComparison.Ordinal);
        config.MaxTurns = 1;
        Assert.StartsWith("ChatMemoryConfig.KeyPrefix", config.GetValidationError(), StringComparison.Ordinal);
        config.KeyPrefix = "p";
        Assert.StartsWith("ChatMemoryConfig.Connections", config.GetValidationError(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_clone_has_its_own_window_so_later_changes_do_not_reach_a_running_memory()
    {
        var config = new ChatMemoryConfig { MaxTurns = 4, Window = new ChatMemoryWindow { PinSystemMessages = true, MaxPinnedMessages = 5 } };

        var copy = config.Clone();
        config.MaxTurns = 7;
        config.Window.MaxPinnedMessages = 0;
        config.Window.ToolCallAware = true;

        Assert.NotSame(config.Window, copy.Window);
        Assert.Equal((4, true, 5, false), (copy.MaxTurns, copy.Window.PinSystemMessages, copy.Window.MaxPinnedMessages, copy.Window.ToolCallAware));
        Assert.Null(copy.GetValidationError());
        Assert.Null(new ChatMemoryConfig { Window = null! }.Clone().Window);
    }

    [Fact]
    public void The_window_size_is_twice_the_turns_and_describes_itself()
    {
        Assert.Equal(2, new ChatMemoryConfig { MaxTurns = 1 }.WindowSize);
        Assert.Equal(int.MaxValue - 1, new ChatMemoryConfig { MaxTurns = int.MaxValue / 2 }.WindowSize);
        Assert.Throws<OverflowException>(() => new ChatMemoryConfig { MaxTurns = int.MaxValue / 2 + 1 }.WindowSize);

        Assert.Equal("seed", new ChatMemoryWindow().ToString());
        Assert.Equal("PinSystemMessages=True, MaxPinnedMessages=3, ToolCallAware=False", new ChatMemoryWindow { PinSystemMessages = true, MaxPinnedMessages = 3 }.ToString());
        Assert.Equal("ChatMemoryConfig(MaxTurns=10, Ttl=none, KeyPrefix=ractogateway:memory, MaxMessageBytes=1048576, Window=seed)", new ChatMemoryConfig().ToString());
    }
}

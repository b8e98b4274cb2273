namespace RactoGateway.Redis.Tests;

/// <summary>The seed's behaviour: append, read oldest first, trim oldest first, count, clear.</summary>
public class AppendAndReadTests
{
    [Theory, AllServers]
    public async Task Appended_messages_read_back_oldest_first(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("c1", "system", "Be brief.");
        await bed.Memory.AppendAsync("c1", "user", "What is the capital of France?");
        await bed.Memory.AppendAsync("c1", "assistant", "Paris.");

        var history = await bed.Memory.GetHistoryAsync("c1");

        Assert.Equal(
            [new("system", "Be brief."), new("user", "What is the capital of France?"), new ChatMemoryMessage("assistant", "Paris.")],
            history);
        Assert.Equal(3, await bed.Memory.CountAsync("c1"));
    }

    [Theory, AllServers]
    public async Task Trimming_keeps_the_newest_MaxTurns_times_two_messages(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 3);
        for (var i = 1; i <= 10; i++)
        {
            await bed.Memory.AppendAsync("c1", i % 2 == 1 ? "user" : "assistant", $"m{i}");
        }

        var history = await bed.Memory.GetHistoryAsync("c1");

        Assert.Equal(["m5", "m6", "m7", "m8", "m9", "m10"], history.Select(m => m.Content));
        Assert.Equal(6, await bed.Memory.CountAsync("c1"));
        Assert.Equal(6, await bed.Raw.ListLengthAsync(bed.Key("c1")));
    }

    [Theory, AllServers]
    public async Task MaxTurns_one_keeps_exactly_the_last_two_messages(string server)
    {
        // The seed's max_turns=0 became LTRIM 0 -1 and kept everything; the smallest valid window must hold.
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 1);
        foreach (var text in new[] { "a", "b", "c", "d", "e" })
        {
            await bed.Memory.AppendAsync("c1", "user", text);
        }

        Assert.Equal(["d", "e"], (await bed.Memory.GetHistoryAsync("c1")).Select(m => m.Content));
    }

    [Theory, AllServers]
    public async Task Missing_conversation_reads_empty_and_counts_zero_and_clears_quietly(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);

        Assert.Empty(await bed.Memory.GetHistoryAsync("never-written"));
        Assert.Equal(0, await bed.Memory.CountAsync("never-written"));
        await bed.Memory.ClearAsync("never-written");
        Assert.False(await bed.Raw.KeyExistsAsync(bed.Key("never-written")));
    }

    [Theory, AllServers]
    public async Task Clear_deletes_only_that_conversation(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("a", "user", "one");
        await bed.Memory.AppendAsync("b", "user", "two");

        await bed.Memory.ClearAsync("a");

        Assert.False(await bed.Raw.KeyExistsAsync(bed.Key("a")));
        Assert.Equal([new ChatMemoryMessage("user", "two")], await bed.Memory.GetHistoryAsync("b"));
    }

    [Theory, AllServers]
    public async Task Sync_twins_behave_like_the_async_methods(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 1);
        bed.Memory.Append("s", "user", "one");
        bed.Memory.Append("s", "assistant", "two");
        bed.Memory.Append("s", "user", "three");

        Assert.Equal([new("assistant", "two"), new ChatMemoryMessage("user", "three")], bed.Memory.GetHistory("s"));
        Assert.Equal(2, bed.Memory.Count("s"));
        bed.Memory.Clear("s");
        Assert.Equal(0, bed.Memory.Count("s"));
        Assert.Empty(bed.Memory.GetHistory("s"));
    }

    [Theory, AllServers]
    public async Task Key_is_prefix_colon_conversation_id_and_holds_a_list(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("conv_abc", "user", "hi");

        Assert.Equal(bed.Config.KeyPrefix + ":conv_abc", bed.Memory.GetKey("conv_abc"));
        Assert.Equal(StackExchange.Redis.RedisType.List, await bed.Raw.KeyTypeAsync(bed.Key("conv_abc")));
    }

    [Theory, AllServers]
    public async Task Custom_roles_are_stored_when_the_config_allows_them(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.AllowCustomRoles = true);
        await bed.Memory.AppendAsync("c", "developer", "internal note");

        Assert.Equal([new ChatMemoryMessage("developer", "internal note")], await bed.Memory.GetHistoryAsync("c"));
    }

    [Theory, AllServers]
    public async Task Tool_role_is_accepted_by_default(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("c", "tool", "{\"temp\": 21}");

        Assert.Equal([new ChatMemoryMessage("tool", "{\"temp\": 21}")], await bed.Memory.GetHistoryAsync("c"));
    }
}

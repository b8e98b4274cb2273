using System.Text.Json;
using RactoGateway.Redis.Admin;
using RactoGateway.Redis.Connection;
using RactoGateway.Redis.Recall;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The storage of long-term recall (<see cref="VectorSetStore"/>, one vector set per conversation) and of owners
/// (<see cref="OwnerIndex"/>), on real servers: Garnet started with vector sets ("garnet-vector"), redis-server 7 and
/// plain Garnet (no vector sets: the documented <see cref="NotSupportedException"/>), and a Redis Cluster for owners whose
/// keys live in different slots. Vectors are hand-made: orthogonal unit directions for planted facts, noise elsewhere.
/// </summary>
public class RecallStoreTests
{
    private const int Dimensions = 128;
    private const int Facts = 40;

    // ---- vector sets -------------------------------------------------------------------------------------------

    [Theory, VectorServers]
    public async Task Planted_facts_come_first_among_thousands_of_entries_best_score_first(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var (entries, factPositions) = Conversation(count: 3000, seed: 1);
        await store.AddAsync("c", entries, ttlMilliseconds: 0);

        Assert.Equal(3000, (long)await bed.Raw.ExecuteAsync("VCARD", store.Keys.VectorSet("c")));
        var random = new Random(2);
        for (var fact = 0; fact < Facts; fact++)
        {
            var found = await store.SearchAsync("c", Noisy(Axis(fact), random, 0.02), top: 5, filter: null);

            Assert.Equal(5, found.Count);
            Assert.Equal(factPositions[fact], found[0].Position);
            Assert.Equal(entries[(int)factPositions[fact]].Message, found[0].Message);
            Assert.Equal("c", found[0].ConversationId);
            Assert.InRange(found[0].Score, 0.95, 1.0);
            Assert.True(found.Zip(found.Skip(1)).All(p => p.First.Score >= p.Second.Score), "best first");
            Assert.All(found.Skip(1), m => Assert.True(m.Score < found[0].Score - 0.1, $"runner-up {m.Score} vs {found[0].Score}"));
            Assert.All(found, m => Assert.Equal(entries[(int)m.Position].Message, m.Message));
        }
    }

    /// <summary>An export reads every element of a set of thousands, each once, with its message: on Garnet, whose
    /// VRANDMEMBER closes the connection when asked for more than about 64 names, as on Redis 8.</summary>
    [Theory, VectorServers]
    public async Task ReadAll_gives_every_element_of_thousands_once(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var (entries, _) = Conversation(count: 2000, seed: 3);
        await store.AddAsync("c", entries, ttlMilliseconds: 0);
        await store.AddAsync("small", entries[..5], ttlMilliseconds: 0);

        var all = await store.ReadAllAsync("c");
        var small = await store.ReadAllAsync("small");

        var positions = all.Select(e => JsonDocument.Parse(e.Attributes).RootElement.GetProperty("pos").GetInt64()).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 2000).Select(p => (long)p), positions);
        Assert.All(all, e => Assert.Equal(Dimensions, e.Vector.Length));
        Assert.Equal(5, small.Count);
        Assert.Empty(await store.ReadAllAsync("none"));
        Assert.Equal("PONG", (string?)await bed.Raw.ExecuteAsync("PING"));   // the connection survived
    }

    [Theory, VectorServers]
    public async Task Scores_follow_the_cosine_of_query_and_vector_like_redis_8(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        // Not normalized on purpose: only the direction counts.
        await store.AddAsync("c", [
            Entry(0, [3, 0, 0, 0]), Entry(1, [0, 2, 0, 0]), Entry(2, [-1, 0, 0, 0]), Entry(3, [1, 1, 0, 0])], 0);

        var found = await store.SearchAsync("c", new float[] { 5, 0, 0, 0 }, top: 4, filter: null);

        Assert.Equal(new long[] { 0, 3, 1, 2 }, found.Select(m => m.Position));
        Assert.Equal(1.0, found[0].Score, 0.02);                          // cosine 1
        Assert.Equal((1 + Math.Sqrt(0.5)) / 2, found[1].Score, 0.02);     // cosine 0.707
        Assert.Equal(0.5, found[2].Score, 0.02);                          // orthogonal
        Assert.Equal(0.0, found[3].Score, 0.02);                          // opposite
    }

    [Theory, VectorServers]
    public async Task A_filter_on_position_returns_only_older_messages(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var (entries, factPositions) = Conversation(count: 3000, seed: 3);
        await store.AddAsync("c", entries, 0);
        var old = Enumerable.Range(0, Facts).Where(f => factPositions[f] < 120).ToArray();
        var recent = Enumerable.Range(0, Facts).Where(f => factPositions[f] >= 120).ToArray();
        Assert.NotEmpty(old);
        Assert.NotEmpty(recent);

        foreach (var fact in old)
        {
            var found = await store.SearchAsync("c", Axis(fact), top: 5, filter: ".pos < 120");
            Assert.Equal(factPositions[fact], found[0].Position);
            Assert.All(found, m => Assert.True(m.Position < 120, $"position {m.Position}"));
        }

        foreach (var fact in recent)
        {
            var found = await store.SearchAsync("c", Axis(fact), top: 5, filter: ".pos < 120");
            Assert.All(found, m => Assert.True(m.Position < 120, $"position {m.Position}"));
            Assert.DoesNotContain(found, m => m.Position == factPositions[fact]);
        }

        // The closest match is in the window (restated recently): the filter finds the older one.
        var restated = new RecallEntry(3000, new ChatMemoryMessage(ChatRoles.User, "fact 0 again"), Noisy(Axis(0), new Random(9), 0.01));
        await store.AddAsync("c", [restated], 0);
        var unfiltered = await store.SearchAsync("c", Axis(0), top: 2, filter: null);
        Assert.Equal(new[] { 3000L, factPositions[0] }.Order(), unfiltered.Select(m => m.Position).Order());
        var outOfWindow = await store.SearchAsync("c", Axis(0), top: 5, filter: ".pos < 2980");
        Assert.Equal(factPositions[0], outOfWindow[0].Position);
        Assert.DoesNotContain(outOfWindow, m => m.Position >= 2980);

        var users = await store.SearchAsync("c", Axis(0), top: 20, filter: ".role == \"user\"");
        Assert.NotEmpty(users);
        Assert.All(users, m => Assert.Equal(ChatRoles.User, m.Message.Role));
    }

    [Theory, VectorServers]
    public async Task Adding_the_same_entries_again_changes_nothing(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var (entries, factPositions) = Conversation(count: 2000, seed: 4);
        await store.AddAsync("c", entries, 0);

        // A retry after a crash: the whole batch again, then an overlapping one.
        await store.AddAsync("c", entries, 0);
        await store.AddAsync("c", entries.Skip(1500).ToArray(), 0);

        Assert.Equal(2000, (long)await bed.Raw.ExecuteAsync("VCARD", store.Keys.VectorSet("c")));
        var found = await store.SearchAsync("c", Axis(7), top: 3, filter: null);
        Assert.Equal(factPositions[7], found[0].Position);
        Assert.Single(found, m => m.Position == factPositions[7]);
    }

    [Theory, VectorServers]
    public async Task The_ttl_is_set_after_an_add_and_left_alone_when_zero(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);

        await store.AddAsync("with", [Entry(0, Axis(0))], ttlMilliseconds: 60_000);
        await store.AddAsync("without", [Entry(0, Axis(0))], ttlMilliseconds: 0);

        var ttl = await bed.Raw.KeyTimeToLiveAsync(store.Keys.VectorSet("with"));
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(55), TimeSpan.FromSeconds(60));
        Assert.Null(await bed.Raw.KeyTimeToLiveAsync(store.Keys.VectorSet("without")));

        Assert.True(await store.ExpireAsync("without", 30_000));
        Assert.InRange((await bed.Raw.KeyTimeToLiveAsync(store.Keys.VectorSet("without")))!.Value, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(30));
    }

    [Theory, VectorServers]
    public async Task Delete_removes_the_set_and_a_search_then_finds_nothing(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var (entries, _) = Conversation(count: 500, seed: 5);
        await store.AddAsync("c", entries, 0);

        Assert.True(await store.DeleteAsync("c"));

        Assert.False(await bed.Raw.KeyExistsAsync(store.Keys.VectorSet("c")));
        Assert.Empty(await store.SearchAsync("c", Axis(1), top: 5, filter: null));
        Assert.False(await store.DeleteAsync("c"));
    }

    [Theory, VectorServers]
    public async Task Full_messages_round_trip_through_the_attributes_and_corrupt_ones_are_skipped(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var full = new ChatMemoryMessage(ChatRoles.Assistant, "Biscuit, sagt er. \"Quoted\" \u00e9\u4e2d\U0001F600")
        {
            MessageId = "m-1",
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_123),
            AuthorName = "bot",
            ToolCalls = [new ChatMemoryToolCall("call-1", "lookup", "{\"q\":\"dog\"}")],
            Metadata = new Dictionary<string, string> { ["k"] = "v" },
        };
        var big = new ChatMemoryMessage(ChatRoles.User, new string('x', 1024 * 1024));
        await store.AddAsync("c", [Entry(0, Axis(0), full), Entry(1, Axis(1), big), Entry(2, Axis(2))], 0);
        await bed.Raw.ExecuteAsync("VSETATTR", store.Keys.VectorSet("c"), "2", "{\"pos\":2,\"msg\":\"not a message\"}");

        var found = await store.SearchAsync("c", Axis(0), top: 3, filter: null);

        Assert.Equal(new long[] { 0, 1 }, found.Select(m => m.Position).Order());
        Assert.Equal(full, found.Single(m => m.Position == 0).Message);
        Assert.Equal(big, found.Single(m => m.Position == 1).Message);
        var attributes = (string)(await bed.Raw.ExecuteAsync("VGETATTR", store.Keys.VectorSet("c"), "0"))!;
        Assert.StartsWith("{\"pos\":0,\"role\":\"assistant\",\"ts\":1764000000123,\"msg\":{", attributes, StringComparison.Ordinal);
        var byTime = await store.SearchAsync("c", Axis(0), top: 3, filter: ".ts > 1764000000000");
        Assert.Equal(new long[] { 0 }, byTime.Select(m => m.Position));
    }

    [Theory, VectorServers]
    public async Task A_search_across_conversations_merges_them_best_first(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var ids = Enumerable.Range(0, 40).Select(i => $"owner:conv-{i}").ToArray();
        var random = new Random(7);
        for (var c = 0; c < ids.Length; c++)
        {
            // Conversation c holds fact c (its own axis) at position 10 among topical chatter.
            var entries = Enumerable.Range(0, 60).Select(p => new RecallEntry(p, new ChatMemoryMessage(ChatRoles.User, $"{ids[c]} #{p}"),
                p == 10 ? Noisy(Axis(c), random, 0.01) : Noisy(Axis(Facts + random.Next(20)), random, 0.08))).ToArray();
            await store.AddAsync(ids[c], entries, 0);
        }

        var found = await store.SearchManyAsync([.. ids.Select(id => (id, (string?)null))], Axis(13), top: 5);

        Assert.Equal(5, found.Count);
        Assert.Equal((ids[13], 10L), (found[0].ConversationId, found[0].Position));
        Assert.True(found.Zip(found.Skip(1)).All(p => p.First.Score >= p.Second.Score), "best first");

        // Per-conversation filters: the fact's own conversation excludes it (its window), the others are searched whole.
        var filtered = await store.SearchManyAsync([.. ids.Select(id => (id, id == ids[13] ? ".pos > 10" : (string?)null))], Axis(13), top: 5);
        Assert.DoesNotContain(filtered, m => m.ConversationId == ids[13] && m.Position == 10);
        Assert.Equal("targets", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchManyAsync([("a", null), ("a", null)], Axis(0), 5))).ParamName);
    }

    [Theory, VectorServers]
    public async Task A_cancelled_search_or_add_throws_OperationCanceledException(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.AddAsync("c", [Entry(0, Axis(0))], 0, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SearchAsync("c", Axis(0), 5, null, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Index(bed).DeleteOwnerAsync("o", _ => Task.CompletedTask, cancelled.Token));
    }

    [Theory, VectorServers]
    public async Task Searches_read_the_same_over_resp3(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var (entries, factPositions) = Conversation(count: 1000, seed: 6);
        await Store(bed).AddAsync("c", entries, 0);
        await using var resp3 = await ConnectionMultiplexer.ConnectAsync(bed.Server.ConnectionString + ",protocol=resp3");
        var store = new VectorSetStore(ConnectionSet.Borrow(resp3, 1, null), bed.Config.KeyPrefix);

        var overResp3 = await store.SearchAsync("c", Axis(3), top: 5, filter: ".pos >= 0");
        var overResp2 = await Store(bed).SearchAsync("c", Axis(3), top: 5, filter: ".pos >= 0");

        Assert.Equal(factPositions[3], overResp3[0].Position);
        Assert.Equal(overResp2.Select(m => (m.Position, Math.Round(m.Score, 6))), overResp3.Select(m => (m.Position, Math.Round(m.Score, 6))));
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("garnet")]
    [InlineData("valkey")]
    public async Task A_server_without_vector_sets_gets_the_documented_NotSupportedException(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var store = Store(bed);

        var probe = await Assert.ThrowsAsync<NotSupportedException>(() => store.EnsureSupportedAsync());
        var add = await Assert.ThrowsAsync<NotSupportedException>(() => store.AddAsync("c", [Entry(0, Axis(0))], 1000));
        var search = await Assert.ThrowsAsync<NotSupportedException>(() => store.SearchAsync("c", Axis(0), 5, null));

        foreach (var error in new[] { probe, add, search })
        {
            Assert.Contains("Redis 8 or later, or Garnet started with --enable-vector-set-preview", error.Message, StringComparison.Ordinal);
        }

        // Nothing was written, and clearing a conversation never depends on recall.
        Assert.False(await bed.Raw.KeyExistsAsync(store.Keys.VectorSet("c")));
        Assert.False(await store.DeleteAsync("c"));
        Assert.False(await store.ExpireAsync("c", 1000));
    }

    [Fact]
    public async Task Bad_arguments_are_refused_before_any_io_naming_the_parameter()
    {
        // On a server without vector sets: an ArgumentException (not NotSupportedException) proves nothing was asked.
        await using var bed = await TestBed.CreateAsync("redis");
        var store = Store(bed);

        Assert.Equal("conversationId", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync(" ", [Entry(0, Axis(0))], 0))).ParamName);
        Assert.Equal("entries", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync("c", [Entry(-1, Axis(0))], 0))).ParamName);
        Assert.Equal("entries", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync("c", [Entry(0, Axis(0)), Entry(1, new float[3])], 0))).ParamName);
        Assert.Equal("entries", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync("c", [Entry(0, new float[Dimensions])], 0))).ParamName);
        Assert.Equal("entries", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync("c", [Entry(0, [1, float.NaN])], 0))).ParamName);
        Assert.Equal("ttlMilliseconds", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.AddAsync("c", [Entry(0, Axis(0))], -1))).ParamName);
        Assert.Equal("top", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.SearchAsync("c", Axis(0), 0, null))).ParamName);
        Assert.Equal("filter", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync("c", Axis(0), 5, " "))).ParamName);
        Assert.Equal("query", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync("c", ReadOnlyMemory<float>.Empty, 5, null))).ParamName);
        await store.AddAsync("c", [], 1000); // nothing to add: no I/O, no error
    }

    [Theory, VectorServers]
    public async Task What_only_the_server_can_check_is_an_ArgumentException_too(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        await store.AddAsync("c", [Entry(0, Axis(0))], 0);

        Assert.Equal("filter", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync("c", Axis(0), 5, ".pos <"))).ParamName);
        Assert.Equal("entries", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddAsync("c", [Entry(1, [1, 0, 0])], 0))).ParamName);
        Assert.Equal("query", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync("c", new float[] { 1, 0, 0 }, 5, null))).ParamName);
        Assert.Equal(1, (long)await bed.Raw.ExecuteAsync("VCARD", store.Keys.VectorSet("c")));
    }

    [Theory, VectorServers]
    public async Task Admin_scans_see_conversations_only_not_recall_or_owner_keys(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var store = Store(bed);
        var index = Index(bed);
        await bed.Memory.AppendAsync("a:b", ChatRoles.User, "hello"); // ids may contain ':'
        await store.AddAsync("a:b", [Entry(0, Axis(0))], 0);
        await index.TouchAsync("owner", "a:b", "hello", DateTimeOffset.UtcNow);

        var admin = new ChatMemoryAdmin(bed.RawConnection, bed.Config);
        var ids = new List<string>();
        await foreach (var id in admin.ListConversationsAsync())
        {
            ids.Add(id);
        }

        Assert.Equal(new[] { "a:b" }, ids);
        Assert.Equal(4, (await AllKeysAsync(bed)).Count); // list, vector set, owner's sorted set, conversation hash
    }

    // ---- owner index -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("redis")]
    [InlineData("garnet")]
    [InlineData("cluster")]
    public async Task Owners_list_newest_activity_first_and_keep_the_first_title(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var index = Index(bed);
        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_000);

        await index.TouchAsync("alice", "c1", "First   question\nabout dogs", t0);
        await index.TouchAsync("alice", "c2", null, t0.AddMinutes(1));
        await index.TouchAsync("alice", "c3", "Third", t0.AddMinutes(2));
        await index.TouchAsync("alice", "c1", "A later title is ignored", t0.AddMinutes(3));
        await index.TouchAsync("alice", "c3", null, t0.AddMinutes(1)); // out of order: the later activity stays
        await index.TouchAsync("alice", "c2", "Second, set once it is known", t0.AddMinutes(1));
        await index.TouchAsync("bob", "c9", "Bob's", t0);

        var listed = await index.ListAsync("alice");

        Assert.Equal(
            new[]
            {
                new OwnedConversation("c1", "First question about dogs", t0.AddMinutes(3)),
                new OwnedConversation("c3", "Third", t0.AddMinutes(2)),
                new OwnedConversation("c2", "Second, set once it is known", t0.AddMinutes(1)),
            },
            listed);
        Assert.Equal("alice", await index.OwnerOfAsync("c1"));
        Assert.Equal("bob", await index.OwnerOfAsync("c9"));
        Assert.Null(await index.OwnerOfAsync("nobody's"));
        Assert.Empty(await index.ListAsync("carol"));
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("cluster")]
    public async Task A_conversation_has_one_owner(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var index = Index(bed);
        await index.TouchAsync("alice", "c", "mine", DateTimeOffset.UtcNow);

        await Assert.ThrowsAsync<InvalidOperationException>(() => index.TouchAsync("mallory", "c", "theirs", DateTimeOffset.UtcNow));

        Assert.Equal("alice", await index.OwnerOfAsync("c"));
        Assert.Empty(await index.ListAsync("mallory"));
        Assert.Equal(new[] { "mine" }, (await index.ListAsync("alice")).Select(c => c.Title));
        Assert.False(await bed.Raw.KeyExistsAsync(index.Keys.Owner("mallory")));
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("cluster")]
    public async Task Owners_racing_for_a_new_conversation_leave_exactly_one(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var index = Index(bed);
        var owners = Enumerable.Range(0, 16).Select(i => $"owner-{i}").ToArray();

        var results = await Task.WhenAll(owners.Select(async owner =>
        {
            try
            {
                await index.TouchAsync(owner, "contested", owner, DateTimeOffset.UtcNow);
                return owner;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }));

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(winner, await index.OwnerOfAsync("contested"));
        foreach (var owner in owners)
        {
            Assert.Equal(owner == winner ? new[] { "contested" } : [], (await index.ListAsync(owner)).Select(c => c.ConversationId));
        }
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("cluster")]
    public async Task Removing_a_conversation_unlists_it_and_forgets_its_owner(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        var index = Index(bed);
        await index.TouchAsync("alice", "c1", "one", DateTimeOffset.UtcNow);
        await index.TouchAsync("alice", "c2", "two", DateTimeOffset.UtcNow);

        Assert.True(await index.RemoveConversationAsync("alice", "c1"));
        Assert.False(await index.RemoveConversationAsync("alice", "c1"));

        Assert.Equal(new[] { "c2" }, (await index.ListAsync("alice")).Select(c => c.ConversationId));
        Assert.Null(await index.OwnerOfAsync("c1"));
        Assert.False(await bed.Raw.KeyExistsAsync(index.Keys.Meta("c1")));
    }

    [Theory, VectorServers]
    public async Task Deleting_an_owner_leaves_no_list_vector_set_or_index_key_of_theirs(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var (store, index) = (Store(bed), Index(bed));
        var alice = await SeedAsync(bed, store, index, "alice", 30);
        var bob = await SeedAsync(bed, store, index, "bob", 5);
        var bobKeys = await AllKeysAsync(bed);
        bobKeys.RemoveWhere(k => k.Contains("alice", StringComparison.Ordinal));
        Assert.Equal(5 * 3 + 1, bobKeys.Count);

        var erased = await index.DeleteOwnerAsync("alice", id => DeleteConversationAsync(bed, store, id));

        Assert.Equal(30, erased);
        Assert.Equal(bobKeys, await AllKeysAsync(bed));
        Assert.Empty(await index.ListAsync("alice"));
        Assert.Equal(bob.Order(), (await index.ListAsync("bob")).Select(c => c.ConversationId).Order());
        foreach (var id in alice)
        {
            Assert.Null(await index.OwnerOfAsync(id));
        }

        Assert.Equal(0, await index.DeleteOwnerAsync("alice", id => DeleteConversationAsync(bed, store, id))); // idempotent
    }

    [Theory, VectorServers]
    public async Task A_deletion_that_crashed_half_way_finishes_when_run_again(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName);
        var (store, index) = (Store(bed), Index(bed));
        await SeedAsync(bed, store, index, "alice", 250); // more than one batch of 100
        await SeedAsync(bed, store, index, "bob", 3);
        var bobKeys = (await AllKeysAsync(bed)).Where(k => k.Contains("bob", StringComparison.Ordinal)).ToHashSet();

        // The process "dies" in the 130th conversation: after deleting its list, before its vector set.
        var calls = 0;
        await Assert.ThrowsAsync<IOException>(() => index.DeleteOwnerAsync("alice", async id =>
        {
            if (++calls == 130)
            {
                await bed.Memory.ClearAsync(id);
                throw new IOException("simulated crash");
            }

            await DeleteConversationAsync(bed, store, id);
        }));

        // The first batch of 100 is gone; the batch in progress stays listed, including the 29 already deleted.
        Assert.Equal(150, (await index.ListAsync("alice")).Count);
        Assert.Contains(await AllKeysAsync(bed), k => k.Contains("alice", StringComparison.Ordinal));
        var retried = await index.DeleteOwnerAsync("alice", id => DeleteConversationAsync(bed, store, id));

        Assert.Equal(150, retried);
        Assert.Equal(bobKeys, await AllKeysAsync(bed));
    }

    [Fact]
    public async Task On_a_cluster_an_owner_whose_conversations_span_slots_is_erased_completely()
    {
        var cluster = (RedisClusterProcess)await TestServers.GetAsync("cluster");
        await using var bed = await TestBed.CreateAsync(cluster);
        var (store, index) = (Store(bed), Index(bed));
        var ids = Enumerable.Range(0, 60).Select(i => $"alice-{i}").ToArray();
        foreach (var id in ids)
        {
            await index.TouchAsync("alice", id, "hello " + id, DateTimeOffset.UtcNow);
            await bed.Memory.AppendAsync(id, ChatRoles.User, "hello " + id);
        }

        await index.TouchAsync("bob", "bob-1", "hi", DateTimeOffset.UtcNow);
        await bed.Memory.AppendAsync("bob-1", ChatRoles.User, "hi");
        var slots = ids.SelectMany(id => new[] { bed.Key(id), index.Keys.Meta(id) }).Select(k => bed.RawConnection.HashSlot(k)).ToHashSet();
        var nodes = (await AllKeysByNodeAsync(bed)).Count(n => n > 0);
        Assert.True(slots.Count > 50, $"{slots.Count} slots");
        Assert.Equal(3, nodes);
        Assert.Equal(60, (await index.ListAsync("alice")).Count);

        // Vector sets do not exist on Redis 7, but deleting them works there (and does nothing).
        Assert.Equal(60, await index.DeleteOwnerAsync("alice", id => DeleteConversationAsync(bed, store, id)));

        var left = await AllKeysAsync(bed);
        Assert.Equal(
            new[] { bed.Config.KeyPrefix + "#meta:bob-1", bed.Config.KeyPrefix + "#owner:bob", bed.Config.KeyPrefix + ":bob-1" },
            left.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_owner_index_works_for_a_least_privilege_user_with_the_documented_rules()
    {
        // docs/recall-storage.md: the rules of docs/security.md plus ~{prefix}#* and the owner index's commands (redis-server 7 has no
        // vector set commands to grant).
        await using var bed = await TestBed.CreateAsync("redis");
        var user = "recall-" + Guid.NewGuid().ToString("N");
        var rules = AclRedisServer.LeastPrivilegeRules(bed.Config.KeyPrefix) + $" ~{bed.Config.KeyPrefix}#* +zadd +zrange +zrevrange +zrem +hsetnx +hget +hmget";
        await bed.Raw.ExecuteAsync("ACL", ["SETUSER", user, "reset", "on", ">pw", .. rules.Split(' ')]);
        try
        {
            await using var restricted = await ConnectionMultiplexer.ConnectAsync(bed.Server.ConnectionString + $",user={user},password=pw");
            var index = new OwnerIndex(ConnectionSet.Borrow(restricted, 1, null), bed.Config.KeyPrefix);
            var store = new VectorSetStore(ConnectionSet.Borrow(restricted, 1, null), bed.Config.KeyPrefix);
            await index.TouchAsync("alice", "c1", "hi", DateTimeOffset.UtcNow);
            await index.TouchAsync("alice", "c2", "hello", DateTimeOffset.UtcNow);
            await bed.Memory.AppendAsync("c1", ChatRoles.User, "hi");

            Assert.Equal(2, (await index.ListAsync("alice")).Count);
            Assert.Equal("alice", await index.OwnerOfAsync("c1"));
            Assert.True(await index.RemoveConversationAsync("alice", "c2"));
            Assert.Equal(1, await index.DeleteOwnerAsync("alice", async id =>
            {
                await restricted.GetDatabase().KeyDeleteAsync(bed.Key(id));
                await store.DeleteAsync(id);
            }));
            Assert.Empty(await AllKeysAsync(bed));
        }
        finally
        {
            await bed.Raw.ExecuteAsync("ACL", "DELUSER", user);
        }
    }

    [Fact]
    public async Task Owner_arguments_are_refused_before_any_io()
    {
        await using var bed = await TestBed.CreateAsync("redis");
        var index = Index(bed);

        Assert.Equal("owner", (await Assert.ThrowsAsync<ArgumentException>(() => index.TouchAsync("", "c", null, default))).ParamName);
        Assert.Equal("conversationId", (await Assert.ThrowsAsync<ArgumentException>(() => index.TouchAsync("o", " ", null, default))).ParamName);
        Assert.Equal("owner", (await Assert.ThrowsAsync<ArgumentException>(() => index.ListAsync(" "))).ParamName);
        Assert.Equal("deleteConversation", (await Assert.ThrowsAsync<ArgumentNullException>(() => index.DeleteOwnerAsync("o", null!))).ParamName);
        Assert.Empty(await AllKeysAsync(bed));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static VectorSetStore Store(TestBed bed) => new(ConnectionSet.Borrow(bed.RawConnection, 1, null), bed.Config.KeyPrefix);

    private static OwnerIndex Index(TestBed bed) => new(ConnectionSet.Borrow(bed.RawConnection, 1, null), bed.Config.KeyPrefix);

    private static async Task DeleteConversationAsync(TestBed bed, VectorSetStore store, string id)
    {
        await bed.Memory.ClearAsync(id);
        await store.DeleteAsync(id);
    }

    /// <summary>Conversations of <paramref name="owner"/>, each with a list, a vector set and index entries.</summary>
    private static async Task<string[]> SeedAsync(TestBed bed, VectorSetStore store, OwnerIndex index, string owner, int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"{owner}:{i}").ToArray();
        await Task.WhenAll(ids.Select(async (id, i) =>
        {
            await index.TouchAsync(owner, id, $"{owner} asks {i}", DateTimeOffset.UtcNow.AddSeconds(i));
            await bed.Memory.AppendAsync(id, ChatRoles.User, $"{owner} asks {i}");
            await store.AddAsync(id, [Entry(0, Axis(i % Dimensions)), Entry(1, Axis((i + 1) % Dimensions))], 0);
        }));
        return ids;
    }

    /// <summary>Every key under the test's prefix, from every master (SCAN), conversation or not.</summary>
    private static async Task<HashSet<string>> AllKeysAsync(TestBed bed) =>
        [.. (await ConversationScan.ListAsync(bed.RawConnection, ConversationKey.EscapeGlob(bed.Config.KeyPrefix) + "*", default)).Select(k => (string)k!)];

    private static async Task<int[]> AllKeysByNodeAsync(TestBed bed)
    {
        var pattern = ConversationKey.EscapeGlob(bed.Config.KeyPrefix) + "*";
        var counts = new List<int>();
        foreach (var server in bed.RawConnection.GetServers().Where(s => !s.IsReplica))
        {
            var count = 0;
            await foreach (var _ in server.KeysAsync(pattern: pattern))
            {
                count++;
            }

            counts.Add(count);
        }

        return [.. counts];
    }

    /// <summary>
    /// A conversation of <paramref name="count"/> messages: facts 0..39 planted at random positions, each on its own axis
    /// (unit vector e_f plus noise), and chatter elsewhere on 20 other topics (axes 40..59 plus noise spread over every
    /// dimension), so no chatter is close to a fact. Chatter has topics, as real conversations do: uniform random
    /// directions in many dimensions (no structure at all) defeat any graph index (HNSW, DiskANN), Redis's and Garnet's
    /// alike, and are not what embeddings look like.
    /// </summary>
    private static (RecallEntry[] Entries, long[] FactPositions) Conversation(int count, int seed)
    {
        var random = new Random(seed);
        var positions = Enumerable.Range(0, count).OrderBy(_ => random.Next()).Take(Facts).Select(p => (long)p).ToArray();
        var factAt = positions.Select((p, f) => (p, f)).ToDictionary(x => x.p, x => x.f);
        var entries = new RecallEntry[count];
        for (var i = 0; i < count; i++)
        {
            var vector = factAt.TryGetValue(i, out var fact)
                ? Noisy(Axis(fact), random, 0.01)
                : Noisy(Axis(Facts + random.Next(20)), random, 0.08);
            var role = i % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant;
            var text = factAt.TryGetValue(i, out var f) ? $"fact {f}: the answer is {f * 7}" : $"chatter {i}";
            entries[i] = new RecallEntry(i, new ChatMemoryMessage(role, text), vector);
        }

        return (entries, positions);
    }

    private static RecallEntry Entry(long position, float[] vector, ChatMemoryMessage? message = null) =>
        new(position, message ?? new ChatMemoryMessage(ChatRoles.User, $"message {position}"), vector);

    private static float[] Axis(int axis)
    {
        var vector = new float[Dimensions];
        vector[axis] = 1;
        return vector;
    }

    private static float[] Noisy(float[] vector, Random random, double sigma) =>
        [.. vector.Select(v => (float)(v + (Gaussian(random) * sigma)))];

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

using System.Text.Json;
using Microsoft.Extensions.AI;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>chatmem recall, owner, list --owner, erase-owner and the recall of chat --summarize, run as separate
/// processes: on Garnet with vector sets ("garnet-vector") with the offline MiniLM embedder and the strict provider test
/// model behind a loopback endpoint, and on redis-server 7 (no vector sets: exit 5, and chat goes on without recall).</summary>
public sealed class RecallCliTests
{
    private const string Fact = "My dog is called Biscuit.";

    [Theory, VectorServers]
    public async Task Chat_summarize_indexes_what_leaves_the_window_recalls_it_for_the_model_and_recall_owner_and_erase_owner_find_and_delete_it(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();

        // The strict OpenAI model: summaries fold (their user message starts "Summary so far:"), chat turns answer "Noted.".
        var model = new StrictChatClient
        {
            Responder = (sent, options, number) => sent[^1].Text.StartsWith("Summary so far:", StringComparison.Ordinal)
                ? FoldReplies.Fold(sent, options, number)
                : new ChatResponse(new ChatMessage(ChatRole.Assistant, "Noted.")),
        };
        await using var endpoint = LoopbackOpenAIServer.Start(model);

        // One turn in the window: the fact leaves it with the second line, is folded and indexed, then recalled.
        var chat = await Chatmem.RunAsync(null, $"{Fact}\nI like hiking in the mountains.\nCan you recommend a pasta recipe?\nWhat is my dog called?\n",
            Redis(server, prefix, "--summarize", "--max-turns", "1", "chat", "c", "--endpoint", endpoint.BaseUrl.ToString(), "--model", "m", "--api-key", "k"));
        var recall = await Chatmem.RunAsync(Redis(server, prefix, "recall", "c", "What is my dog called?", "--top", "1", "--filter", ".role == \"user\"", "--json"));
        var owner = await Chatmem.RunAsync(Redis(server, prefix, "owner", "c", "alice"));
        var byOwner = await Chatmem.RunAsync(Redis(server, prefix, "recall", "--owner", "alice", "Which pet do I have, and its name?", "--top", "1"));
        var erase = await Chatmem.RunAsync(Redis(server, prefix, "erase-owner", "alice"));

        Assert.True(chat.Code == 0, chat.Stderr);
        Assert.Equal("", chat.Stderr);
        Assert.Equal(["Noted.", "Noted.", "Noted.", "Noted."], Lines(chat.Stdout));
        Assert.Empty(model.Rejections);
        var turns = model.Calls.Where(c => !c[^1].Text.StartsWith("Summary so far:", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, turns.Count);
        var last = turns[^1];
        Assert.Equal("What is my dog called?", last[^1].Text);
        var context = Assert.Single(last, m => m.Role == ChatRole.System && m.Text.StartsWith(ChatMemoryRecall.ContextHeading, StringComparison.Ordinal));
        Assert.Contains($"- user: {Fact}", context.Text);

        Assert.True(recall.Code == 0, recall.Stderr);
        using (var json = JsonDocument.Parse(recall.Stdout))
        {
            var hit = Assert.Single(json.RootElement.EnumerateArray());
            Assert.Equal("c", hit.GetProperty("conversation").GetString());
            Assert.Equal(0, hit.GetProperty("position").GetInt64());
            Assert.Equal("user", hit.GetProperty("role").GetString());
            Assert.Equal(Fact, hit.GetProperty("content").GetString());
            Assert.InRange(hit.GetProperty("score").GetDouble(), 0.5, 1);
        }

        Assert.Equal((0, "c: owner alice"), (owner.Code, owner.Stdout.Trim()));
        Assert.True(byOwner.Code == 0, byOwner.Stderr);
        var fields = Assert.Single(Lines(byOwner.Stdout)).Split('\t');
        Assert.Equal(["c", "0", "user", Fact], fields[1..]);
        Assert.Equal((0, "erased 1 conversation of alice"), (erase.Code, erase.Stdout.Trim()));
        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix, Summarize = true });
        Assert.Equal(0, await memory.CountAsync("c"));
    }

    [Fact]
    public async Task Without_vector_sets_recall_exits_5_with_one_line_naming_what_is_needed_and_chat_goes_on_without_recall()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        var model = new StrictChatClient { Responder = ModelEndToEndTests.EchoNumbered };
        await using var endpoint = LoopbackOpenAIServer.Start(model);
        string[] Chat(params string[] flags) =>
            Redis(server, prefix, ["--summarize", "chat", "c", "--endpoint", endpoint.BaseUrl.ToString(), "--model", "m", "--api-key", "k", .. flags]);

        var recall = await Chatmem.RunAsync(Redis(server, prefix, "recall", "c", "anything"));
        var chat = await Chatmem.RunAsync(null, "hello\nagain\n", Chat());
        var quiet = await Chatmem.RunAsync(null, "third\n", Chat("--no-recall"));
        var help = await Chatmem.RunAsync("--help");
        var badTop = await Chatmem.RunAsync(Redis(server, prefix, "recall", "c", "anything", "--top", "0"));

        Assert.Equal(5, recall.Code);
        Assert.Equal("", recall.Stdout);
        var line = Assert.Single(Lines(recall.Stderr));
        Assert.StartsWith($"chatmem: Redis at 127.0.0.1:{server.Port}: Long-term recall needs vector sets: Redis 8 or later, or Garnet started with --enable-vector-set-preview.", line);

        Assert.Equal(0, chat.Code);
        Assert.Equal(["echo #1: hello", "echo #2: again"], Lines(chat.Stdout));
        var note = Assert.Single(Lines(chat.Stderr));
        Assert.StartsWith("chatmem: no recall in this chat: Long-term recall needs vector sets: Redis 8 or later", note);
        Assert.EndsWith("(--no-recall silences this)", note);
        Assert.Equal((0, "", "echo #3: third"), (quiet.Code, quiet.Stderr, quiet.Stdout.Trim()));
        Assert.Empty(model.Rejections);
        Assert.Contains("5 not supported by the server (recall needs vector sets", help.Stdout);
        Assert.Equal((2, "chatmem: --top must be a whole number between 1 and 1000 (was 0)."), (badTop.Code, badTop.Stderr.Trim()));
    }

    [Fact]
    public async Task List_owner_prints_the_owners_conversations_newest_activity_first_with_titles_plain_and_json()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        await using (var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix }))
        {
            await memory.AppendTurnAsync("trip", "Plan a trip to Lisbon", "Sure.");
            await memory.AppendAsync("bike", "system", "Be brief.");
            await memory.AppendTurnAsync("bike", "Fix my\tbike", "Which part?");
        }

        var bike = await Chatmem.RunAsync(Redis(server, prefix, "owner", "bike", "alice"));
        var trip = await Chatmem.RunAsync(Redis(server, prefix, "owner", "trip", "alice"));
        var taken = await Chatmem.RunAsync(Redis(server, prefix, "owner", "trip", "bob"));
        var plain = await Chatmem.RunAsync(Redis(server, prefix, "list", "--owner", "alice"));
        var json = await Chatmem.RunAsync(Redis(server, prefix, "list", "--owner", "alice", "--json"));

        Assert.Equal((0, 0), (bike.Code, trip.Code));
        Assert.Equal(2, taken.Code);
        Assert.Single(Lines(taken.Stderr));
        Assert.Equal(0, plain.Code);
        var rows = Lines(plain.Stdout).Select(l => l.Split('\t')).ToList();
        Assert.Equal([("trip", "Plan a trip to Lisbon"), ("bike", "Fix my bike")], rows.Select(r => (r[0], r[1])));
        var times = rows.Select(r => DateTimeOffset.Parse(r[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(times[0] >= times[1]);
        Assert.InRange(times[0], DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(0, json.Code);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.Equal(
            [("trip", "Plan a trip to Lisbon", rows[0][2]), ("bike", "Fix my bike", rows[1][2])],
            doc.RootElement.EnumerateArray().Select(e => (e.GetProperty("conversation").GetString(), e.GetProperty("title").GetString(), e.GetProperty("last_activity").GetString())));
    }

    [Fact]
    public async Task Recall_with_nothing_indexed_says_why_on_stderr_with_exit_0()
    {
        var server = await TestServers.GetAsync("garnet-vector");
        var prefix = TestServers.UniquePrefix();
        await using (var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix }))
        {
            await memory.AppendTurnAsync("c", "My dog is called Biscuit.", "Noted.");
        }

        var notIndexed = await Chatmem.RunAsync(Redis(server, prefix, "recall", "c", "What is my dog called?"));
        var missing = await Chatmem.RunAsync(Redis(server, prefix, "recall", "nope", "anything", "--json"));
        var owner = await Chatmem.RunAsync(Redis(server, prefix, "owner", "c", "alice"));
        var byOwner = await Chatmem.RunAsync(Redis(server, prefix, "recall", "--owner", "alice", "What is my dog called?"));
        var noOwner = await Chatmem.RunAsync(Redis(server, prefix, "recall", "--owner", "nobody", "anything"));

        Assert.Equal((0, ""), (notIndexed.Code, notIndexed.Stdout));
        Assert.Equal(
            "chatmem: nothing of 'c' is indexed for recall: only messages that have left the window and been folded into the rolling summary are indexed " +
            "(chat --summarize folds and indexes them as the conversation grows); its 2 stored message(s) are not (still in the window, or waiting to be summarized)",
            notIndexed.Stderr.Trim());
        Assert.Equal((0, "[]"), (missing.Code, missing.Stdout.Trim()));
        Assert.Equal($"chatmem: no conversation 'nope' under prefix '{prefix}'; nothing to recall", missing.Stderr.Trim());
        Assert.Equal(0, owner.Code);
        Assert.Equal((0, ""), (byOwner.Code, byOwner.Stdout));
        Assert.StartsWith("chatmem: nothing of owner 'alice' is indexed for recall in its 1 conversation(s): only messages that have left the window", byOwner.Stderr);
        Assert.Equal("chatmem: owner 'nobody' has no conversations (chatmem owner <conversation> nobody records one); nothing to recall", noOwner.Stderr.Trim());
    }

    [Theory, VectorServers]
    public async Task Export_erase_owner_import_brings_back_the_owner_title_and_recall_and_an_export_of_it_equals_the_first(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        var chat = await Chatmem.RunAsync(null, $"{Fact}\nI like hiking in the mountains.\nCan you recommend a pasta recipe?\nWhat is my dog called?\n",
            Redis(server, prefix, "--summarize", "--max-turns", "1", "chat", "c"));
        Assert.True(chat.Code == 0, chat.Stderr);
        Assert.Equal(0, (await Chatmem.RunAsync(Redis(server, prefix, "owner", "c", "alice"))).Code);
        var listed = await Chatmem.RunAsync(Redis(server, prefix, "list", "--owner", "alice"));
        string[] recallArgs = Redis(server, prefix, "recall", "--owner", "alice", "Which pet do I have, and its name?", "--top", "1");
        var recalled = await Chatmem.RunAsync(recallArgs);

        var export = await Chatmem.RunAsync(Redis(server, prefix, "export"));
        var erase = await Chatmem.RunAsync(Redis(server, prefix, "erase-owner", "alice"));
        var listedAfterErase = await Chatmem.RunAsync(Redis(server, prefix, "list", "--owner", "alice"));
        var import = await Chatmem.RunAsync(null, export.Stdout, Redis(server, prefix, "import"));
        var listedAfterImport = await Chatmem.RunAsync(Redis(server, prefix, "list", "--owner", "alice"));
        var recalledAfterImport = await Chatmem.RunAsync(recallArgs);
        var exportAgain = await Chatmem.RunAsync(Redis(server, prefix, "export"));

        Assert.True(export.Code == 0, export.Stderr);
        using var line = JsonDocument.Parse(Assert.Single(Lines(export.Stdout)));
        var recall = line.RootElement.GetProperty("recall");
        Assert.Equal("alice", line.RootElement.GetProperty("owner").GetString());
        Assert.True(recall.GetArrayLength() >= 3, export.Stdout);
        Assert.Equal($"chatmem: exported 1 conversation(s), {line.RootElement.GetProperty("messages").GetArrayLength()} message(s), 1 with an owner, " +
            $"{recall.GetArrayLength()} recall entries", export.Stderr.Trim());
        Assert.Equal((0, "erased 1 conversation of alice"), (erase.Code, erase.Stdout.Trim()));
        Assert.Equal((0, ""), (listedAfterErase.Code, listedAfterErase.Stdout));
        Assert.True(import.Code == 0, import.Stderr);
        Assert.EndsWith($", 1 owner entry, {recall.GetArrayLength()} recall entries", import.Stderr.Trim());

        // The owner's list (id, title, last activity) and recall are as before the erasure.
        Assert.Equal(listed.Stdout, listedAfterImport.Stdout);
        Assert.Equal(Fact, Assert.Single(Lines(recalled.Stdout)).Split('\t')[^1]);
        Assert.Equal(Lines(recalled.Stdout)[0].Split('\t')[1..], Lines(recalledAfterImport.Stdout)[0].Split('\t')[1..]);

        // What is exported again is what was imported: the same line but for the order of the recall entries and the
        // vectors' last bits (Redis 8 hands back its 8-bit quantized copy, and quantizes what it is given again).
        using var again = JsonDocument.Parse(Assert.Single(Lines(exportAgain.Stdout)));
        foreach (var field in new[] { "conversation", "messages", "owner", "title", "last_activity_ms" })
        {
            Assert.Equal(line.RootElement.GetProperty(field).GetRawText(), again.RootElement.GetProperty(field).GetRawText());
        }

        Assert.Equal(
            recall.EnumerateArray().Select(e => e.GetProperty("attrs").GetRawText()).Order(),
            again.RootElement.GetProperty("recall").EnumerateArray().Select(e => e.GetProperty("attrs").GetRawText()).Order());
    }

    [Fact]
    public async Task Import_of_recall_entries_into_a_server_without_vector_sets_exits_5_naming_no_recall_which_imports_the_rest()
    {
        var source = await TestServers.GetAsync("garnet-vector");
        var target = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        var chat = await Chatmem.RunAsync(null, $"{Fact}\nI like hiking in the mountains.\n", Redis(source, prefix, "--summarize", "--max-turns", "1", "chat", "c"));
        Assert.True(chat.Code == 0, chat.Stderr);
        Assert.Equal(0, (await Chatmem.RunAsync(Redis(source, prefix, "owner", "c", "alice"))).Code);
        var export = await Chatmem.RunAsync(Redis(source, prefix, "export"));

        var refused = await Chatmem.RunAsync(null, export.Stdout, Redis(target, prefix, "import"));
        var countAfterRefusal = await Chatmem.RunAsync(Redis(target, prefix, "count", "c"));
        var imported = await Chatmem.RunAsync(null, export.Stdout, Redis(target, prefix, "import", "--no-recall"));
        var listed = await Chatmem.RunAsync(Redis(target, prefix, "list", "--owner", "alice"));

        Assert.Equal(5, refused.Code);
        Assert.StartsWith($"chatmem: Redis at 127.0.0.1:{target.Port}: line 1 carries recall entries (indexed messages with their vectors), which this server cannot store.", refused.Stderr);
        Assert.Contains("Nothing was imported; import without them with chatmem import --no-recall", refused.Stderr);
        Assert.Equal("0", countAfterRefusal.Stdout.Trim());
        Assert.True(imported.Code == 0, imported.Stderr);
        Assert.EndsWith(", 1 owner entry, 0 recall entries", imported.Stderr.Trim());
        Assert.Equal("c", Assert.Single(Lines(listed.Stdout)).Split('\t')[0]);
    }

    [Fact]
    public async Task Import_keeps_reading_old_lines_without_owner_or_recall_and_leaves_those_of_the_conversation_alone()
    {
        var server = await TestServers.GetAsync("redis");
        var prefix = TestServers.UniquePrefix();
        await using (var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix }))
        {
            await memory.AppendTurnAsync("c", "Plan a trip to Lisbon", "Sure.");
        }

        Assert.Equal(0, (await Chatmem.RunAsync(Redis(server, prefix, "owner", "c", "alice"))).Code);
        const string Old = """{"conversation":"c","ttl_ms":null,"messages":[{"role":"user","content":"Plan a trip to Lisbon"},{"role":"assistant","content":"Sure."}]}""";

        var replaced = await Chatmem.RunAsync(null, Old + "\n", Redis(server, prefix, "import", "--replace"));
        var listed = await Chatmem.RunAsync(Redis(server, prefix, "list", "--owner", "alice"));
        var otherOwner = await Chatmem.RunAsync(null, Old.Replace("}]}", "}],\"owner\":\"bob\"}", StringComparison.Ordinal) + "\n", Redis(server, prefix, "import"));

        Assert.Equal((0, "chatmem: imported 1 conversation(s), 2 message(s) stored, 0 owner entries, 0 recall entries"), (replaced.Code, replaced.Stderr.Trim()));
        Assert.Equal("c\tPlan a trip to Lisbon", string.Join('\t', Assert.Single(Lines(listed.Stdout)).Split('\t')[..2]));
        Assert.Equal(2, otherOwner.Code);
        Assert.Equal("chatmem: stdin line 1: conversation 'c' belongs to owner 'alice', the line gives owner 'bob' (a conversation has one owner; " +
            "chatmem import --replace, or ImportAsync with replace: true, replaces it and its owner); nothing was imported (the whole input is checked before anything is written).",
            otherOwner.Stderr.Trim());
    }

    private static string[] Redis(ITestServer server, string prefix, params string[] args) =>
        ["--redis", $"127.0.0.1:{server.Port}", "--prefix", prefix, .. args];

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

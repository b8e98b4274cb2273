using System.CommandLine;
using Microsoft.Extensions.AI;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Embeddings;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem recall &lt;conversation&gt; &lt;query&gt; [--top N] [--filter EXPR] [--json]</c>, or
/// <c>chatmem recall --owner &lt;owner&gt; &lt;query&gt;</c>: long-term recall (<see cref="ChatMemoryRecall"/>) with the
/// offline MiniLM embedder, over what has left the window and been folded (indexed) by a summarizer, e.g.
/// <c>chat --summarize</c>. Plain output is one line per message, best first: score, [conversation,] position, role,
/// content, tab-separated (tabs and line ends in the content become spaces; <c>--json</c> is exact).
/// </summary>
internal static class RecallCommand
{
    public static Command Create()
    {
        var first = new Argument<string>("conversation") { Description = "Conversation id (with --owner: the query)." };
        var second = new Argument<string?>("query") { Description = "What to look for, in words.", Arity = ArgumentArity.ZeroOrOne };
        var owner = new Option<string?>("--owner") { Description = "Search every conversation of this owner instead of one (set with chatmem owner)." };
        var top = new Option<int>("--top")
        {
            Description = $"How many messages at most, 1 to {ChatMemoryRecall.MaxTop}.",
            DefaultValueFactory = _ => 5,
        };
        var filter = new Option<string?>("--filter") { Description = "A vector-set filter over .pos, .role and .ts (Unix ms), e.g. '.role == \"user\"' (one conversation only)." };
        var json = new Option<bool>("--json") { Description = "A JSON array of {\"conversation\",\"position\",\"score\",\"role\",\"content\"}." };
        var command = new Command("recall", "Search what has left a conversation's window (indexed when chat --summarize folds it) by meaning, " +
            "with the offline MiniLM embedder; best first. Needs vector sets: Redis 8+, or Garnet with --enable-vector-set-preview (else exit 5).")
        {
            first, second, owner, top, filter, json,
        };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var count = parsed.GetValue(top);
            if (ChatMemoryRecall.GetTopError(count, "--top") is { } error)
            {
                throw new ArgumentException(error);
            }

            var ownerId = parsed.GetValue(owner);
            string? conversationId;
            string query;
            if (ownerId is not null)
            {
                if (parsed.GetValue(second) is not null)
                {
                    throw new ArgumentException("With --owner, give only the query: chatmem recall --owner <owner> <query>.");
                }

                if (parsed.GetValue(filter) is not null)
                {
                    throw new ArgumentException("--filter applies to one conversation, not with --owner.");
                }

                (conversationId, query) = (null, parsed.GetValue(first)!);
            }
            else
            {
                (conversationId, query) = (parsed.GetValue(first)!, parsed.GetValue(second)
                    ?? throw new ArgumentException("Give a conversation and a query (chatmem recall <conversation> <query>), or --owner <owner> <query>."));
            }

            using var embeddings = ServedEmbeddings.For(session);
            var memory = Open(session, parsed, embeddings);
            var recall = memory.GetRequiredService<ChatMemoryRecall>();
            var hits = conversationId is null
                ? await recall.RecallForOwnerAsync(ownerId!, query, count, ct)
                : await recall.RecallAsync(conversationId, query, count, parsed.GetValue(filter), ct);
            if (hits.Count == 0)
            {
                await Console.Error.WriteLineAsync("chatmem: " + await WhyNothingAsync(memory, recall, conversationId, ownerId, parsed.GetValue(filter), ct));
            }

            await using var stdout = ListCommand.StdoutWriter();
            if (parsed.GetValue(json))
            {
                await stdout.WriteAsync(Json(hits) + "\n");
            }
            else
            {
                foreach (var hit in hits)
                {
                    var where = conversationId is null ? $"{Plain(hit.ConversationId)}\t" : "";
                    await stdout.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{hit.Score:0.000}\t{where}{hit.Position}\t{hit.Message.Role}\t{Plain(hit.Message.Content)}\n"));
                }
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>A memory with --summarize semantics (recall needs it; reading writes nothing) composed with recall,
    /// embedding with <paramref name="embeddings"/>.</summary>
    public static RedisChatMemory Open(MemorySession session, ParseResult parsed, IEmbeddingGenerator<string, Embedding<float>> embeddings)
    {
        var config = CliOptions.Config(parsed);
        config.Summarize = true;
        return session.Open(config, new ChatMemoryFeatures().AddRecall(embeddings));
    }

    /// <summary>Why a recall found nothing, in one line: a conversation with nothing indexed is the usual reason (only what
    /// left the window and was folded into the summary is indexed), not a bad query.</summary>
    private static async Task<string> WhyNothingAsync(
        RedisChatMemory memory, ChatMemoryRecall recall, string? conversationId, string? owner, string? filter, CancellationToken ct)
    {
        const string Indexed = "only messages that have left the window and been folded into the rolling summary are indexed " +
            "(chat --summarize folds and indexes them as the conversation grows)";
        if (conversationId is null)
        {
            var conversations = await memory.GetRequiredService<ChatMemoryOwners>().ListConversationsAsync(owner!, ct);
            if (conversations.Count == 0)
            {
                return $"owner '{owner}' has no conversations (chatmem owner <conversation> {owner} records one); nothing to recall";
            }

            long indexed = 0;
            foreach (var c in conversations)
            {
                indexed += await recall.CountIndexedAsync(c.ConversationId, ct);
            }

            return indexed == 0
                ? $"nothing of owner '{owner}' is indexed for recall in its {conversations.Count} conversation(s): {Indexed}"
                : $"nothing found among the {indexed} indexed message(s) of owner '{owner}'";
        }

        var count = await recall.CountIndexedAsync(conversationId, ct);
        if (count > 0)
        {
            return filter is null
                ? $"nothing found among the {count} indexed message(s) of '{conversationId}'"
                : $"none of the {count} indexed message(s) of '{conversationId}' matches --filter {filter}";
        }

        var stored = await memory.CountAsync(conversationId, ct);
        return stored == 0
            ? $"no conversation '{conversationId}' under prefix '{memory.Config.KeyPrefix}'; nothing to recall"
            : $"nothing of '{conversationId}' is indexed for recall: {Indexed}; its {stored} stored message(s) are not " +
                "(still in the window, or waiting to be summarized)";
    }

    /// <summary>A memory composed with owners only: no embedder is loaded, no vector sets are needed.</summary>
    public static ChatMemoryOwners OpenOwners(MemorySession session, ParseResult parsed) =>
        session.Open(CliOptions.Config(parsed), new ChatMemoryFeatures().AddOwners()).GetRequiredService<ChatMemoryOwners>();

    /// <summary>One field of a tab-separated line: tabs and line ends become spaces.</summary>
    public static string Plain(string text) => text.ReplaceLineEndings(" ").Replace('\t', ' ');

    private static string Json(IReadOnlyList<RecalledMessage> hits)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var hit in hits)
            {
                writer.WriteStartObject();
                writer.WriteString("conversation", hit.ConversationId);
                writer.WriteNumber("position", hit.Position);
                writer.WriteNumber("score", Math.Round(hit.Score, 6));
                writer.WriteString("role", hit.Message.Role);
                writer.WriteString("content", hit.Message.Content);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}

using System.ClientModel;
using System.CommandLine;
using Microsoft.Extensions.AI;
using OpenAI;
using RactoGateway.Redis.Cli.Chat;
using RactoGateway.Redis.Cli.Hosting;
using RactoGateway.Redis.Embeddings;
using RactoGateway.Redis.Offline;
using Spectre.Console;
using StackExchange.Redis;

namespace RactoGateway.Redis.Cli.Commands;

/// <summary>
/// <c>chatmem chat &lt;conversation&gt; [--endpoint URL] [--model NAME] [--api-key KEY]</c>: a REPL through the
/// <see cref="ChatMemoryChatClient"/> middleware. Each stdin line is a user message; the reply goes to stdout;
/// <c>/history</c> shows what is stored, <c>/exit</c> or end of input ends. With <c>--model</c> (and optionally
/// <c>--endpoint</c>) it talks to an OpenAI-compatible server; otherwise to the offline <see cref="EchoAssistant"/>.
/// The API key (option, else CHATMEM_API_KEY, else OPENAI_API_KEY) is never printed. The model is sent the history the
/// middleware makes valid for a provider (no orphan tool results, no unanswered tool calls); <c>/history</c> shows
/// the stored records as they are. With <c>--summarize</c> (or CHATMEM_SUMMARIZE=1), a <see cref="ChatMemorySummarizer"/>
/// folds what leaves the window into the conversation's rolling summary, inline (each turn's append returns once it is
/// folded, so nothing is left for a background loop this one-shot process would not wait for), with the same model, or
/// offline with RactoGateway.Redis.Offline's <see cref="ConcatenatingSummarizer"/>; the summary is sent to the model as a system message. With
/// <c>--summarize</c> it also recalls by default (<c>--no-recall</c> turns it off): the summarizer indexes what it folds
/// with the offline MiniLM embedder, and before each model call the middleware (<c>RecallTop</c> 5) adds the
/// recalled messages for the user's line as one context message; on a server without vector sets one line on stderr
/// says so and the chat goes on without recall.
/// </summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var conversation = new Argument<string>("conversation") { Description = "Conversation id: a second chat on the same id continues it." };
        var endpoint = new Option<string?>("--endpoint") { Description = "OpenAI-compatible base URL, e.g. http://localhost:11434/v1 (default: OpenAI's)." };
        var model = new Option<string?>("--model") { Description = "Model name; with it, chat talks to the endpoint instead of the offline echo assistant." };
        var apiKey = new Option<string?>("--api-key") { Description = "API key (default: $CHATMEM_API_KEY, else $OPENAI_API_KEY). Never printed." };
        var noRecall = new Option<bool>("--no-recall") { Description = "With --summarize: do not index what is folded nor add recalled messages (recall needs Redis 8+, or Garnet with --enable-vector-set-preview)." };
        var command = new Command("chat", "Chat through the memory middleware: one user message per line; /history, /exit. Offline echo assistant unless --model. " +
            "With --summarize, what leaves the window is folded into a rolling summary before each turn returns, by the same model " +
            "(offline: a deterministic summarizer that concatenates the folded messages, newest kept within the size bound); " +
            "a failed summarization is reported on stderr, leaves the messages pending and makes the exit code 4. " +
            "With --summarize it also recalls (unless --no-recall): what is folded is indexed (offline MiniLM embeddings) and the 5 earlier " +
            "messages closest to each line are sent as one context message; without vector sets on the server, one note on stderr and no recall.")
        {
            conversation, endpoint, model, apiKey, noRecall,
        };
        command.SetAction((parsed, ct) => MemorySession.RunAsync(parsed, async session =>
        {
            var id = parsed.GetValue(conversation)!;
            if (string.IsNullOrWhiteSpace(id))
            {
                throw new ArgumentException("The conversation id must not be empty.");
            }

            using var inner = Assistant(parsed.GetValue(endpoint), parsed.GetValue(model), parsed.GetValue(apiKey));
            var config = CliOptions.Config(parsed);

            // The memory is composed with its summarizer (inline) and recall, so that every fold is indexed.
            using var embeddings = config.Summarize && !parsed.GetValue(noRecall) ? ServedEmbeddings.For(session) : null;
            using var offlineSummarizer = config.Summarize && inner is EchoAssistant ? new ConcatenatingSummarizer() : null;
            var summaryLog = new StderrLogger<ChatMemorySummarizer>();
            var features = new ChatMemoryFeatures();
            if (config.Summarize)
            {
                features.AddSummarizer(offlineSummarizer ?? inner, new ChatMemorySummarizerOptions { Inline = true }, summaryLog);
            }

            if (embeddings is not null)
            {
                features.AddRecall(embeddings, new OnceLogger<ChatMemoryRecall>("no recall in this chat: {0} (--no-recall silences this)"));
            }

            var memory = session.Open(config, features);
            var recall = memory.GetService<ChatMemoryRecall>();
            var summarizer = memory.GetService<ChatMemorySummarizer>();
            using var client = new ChatClientBuilder(inner).UseChatMemory(memory, o =>
            {
                if (recall is not null)
                {
                    o.RecallTop = 5;
                    o.Recall = recall;
                }
            }).Build();
            var options = new ChatOptions { ConversationId = id };
            var interactive = !Console.IsInputRedirected;
            if (interactive)
            {
                var summarizing = summarizer is null ? "" : offlineSummarizer is null ? "; rolling summary by the same model" : "; rolling summary by the offline summarizer";
                summarizing += recall is null ? "" : "; recall on";
                AnsiConsole.MarkupLine($"[grey]conversation {Markup.Escape(id)}: {Markup.Escape(Describe(inner))}{summarizing}; /history shows it, /exit or Ctrl+D ends[/]");
            }

            var failures = 0;
            if (summarizer is not null)
            {
                // What earlier runs left pending (appends without a summarizer, a failed summarization) is folded first.
                try
                {
                    await summarizer.SummarizePendingAsync(id, ct);
                }
                catch (Exception ex) when (ex is not (RedisException or TimeoutException or OperationCanceledException))
                {
                    failures++;
                    var cause = ex is AggregateException { InnerExceptions: [var first, ..] } ? first : ex;
                    await Console.Error.WriteLineAsync($"chatmem: summarizing the pending messages failed (they stay pending): {cause.Message.ReplaceLineEndings(" ")}");
                }
            }

            using var stdin = new StreamReader(Console.OpenStandardInput(), System.Text.Encoding.UTF8);
            while (true)
            {
                if (interactive)
                {
                    Console.Write("> ");
                }

                if (await stdin.ReadLineAsync(ct) is not { } line || line.Trim() == "/exit")
                {
                    break;
                }

                switch (line.Trim())
                {
                    case "":
                        continue;
                    case "/history":
                        AnsiConsole.Write(ShowCommand.Table(await memory.GetHistoryAsync(id, ct), $"conversation {id}"));
                        continue;
                }

                var printed = false;
                try
                {
                    await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, line)], options, ct))
                    {
                        Console.Write(update.Text);
                        printed |= update.Text.Length > 0;
                    }

                    Console.WriteLine();
                }
                catch (Exception ex) when (ex is not (RedisException or TimeoutException or OperationCanceledException))
                {
                    // The model failed: nothing was stored (the middleware appends only complete turns); the REPL goes on.
                    failures++;
                    if (printed)
                    {
                        Console.WriteLine();
                    }

                    var cause = ex is AggregateException { InnerExceptions: [var first, ..] } ? first : ex;
                    await Console.Error.WriteLineAsync($"chatmem: the model call failed: {cause.Message.ReplaceLineEndings(" ")}");
                }
            }

            return failures == 0 && summaryLog.Count == 0 ? ExitCodes.Ok : ExitCodes.ModelFailed;
        }));
        return command;
    }

    private static IChatClient Assistant(string? endpoint, string? model, string? apiKey)
    {
        if (model is null)
        {
            return endpoint is null ? new EchoAssistant() : throw new ArgumentException("--endpoint needs --model.");
        }

        Uri? uri = null;
        if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out uri) || uri.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException("--endpoint must be an http:// or https:// URL.");
        }

        var key = apiKey is { Length: > 0 } ? apiKey
            : Environment.GetEnvironmentVariable("CHATMEM_API_KEY") is { Length: > 0 } k1 ? k1
            : Environment.GetEnvironmentVariable("OPENAI_API_KEY") is { Length: > 0 } k2 ? k2
            // Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) usually take any key; OpenAI's own needs one.
            : uri is not null ? "none"
            : throw new ArgumentException("--model without --endpoint talks to OpenAI and needs --api-key, CHATMEM_API_KEY or OPENAI_API_KEY.");
        var openAi = new OpenAIClientOptions();
        if (uri is not null)
        {
            openAi.Endpoint = uri;
        }

        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(key), openAi).AsIChatClient();
    }

    private static string Describe(IChatClient inner) =>
        inner.GetService<ChatClientMetadata>() is { ProviderUri: var uri, DefaultModelId: var model } && inner is not EchoAssistant
            ? $"model {model} at {uri?.GetLeftPart(UriPartial.Authority)}"
            : "offline echo assistant";
}

using RactoGateway.Redis.Connection;

namespace RactoGateway.Redis;

// The synchronous twins of the core operations on ChatMemoryMessage (append, append many, append a turn, history,
// count, clear): the same validation and the same command as the async method, run by the synchronous executor
// (Execute, beside ExecuteAsync in RedisChatMemory.Operations.cs). On a memory whose connections are not open yet, the
// first one opens them with StackExchange.Redis's synchronous connect (ConnectionSet). The Microsoft.Extensions.AI
// helpers and the IChatMemory seam are async only. A sync append never waits for a model: with an inline summarizer,
// the summarization it triggers runs in the background.
public sealed partial class RedisChatMemory
{
    /// <inheritdoc cref="AppendAsync(string, string, string, CancellationToken)"/>
    /// <remarks>Never waits for a model: with an inline summarizer (<see cref="ChatMemorySummarizerOptions.Inline"/>), the
    /// summarization this append triggers runs in the background, and the append returns once the messages are stored.</remarks>
    public void Append(string conversationId, string role, string content)
    {
        var key = KeyFor(conversationId);
        AppendCore(conversationId, key, [_rules.Plain(role, content)]);
    }

    /// <inheritdoc cref="AppendAsync(string, ChatMemoryMessage, CancellationToken)"/>
    /// <remarks>Never waits for a model: with an inline summarizer (<see cref="ChatMemorySummarizerOptions.Inline"/>), the
    /// summarization this append triggers runs in the background, and the append returns once the messages are stored.</remarks>
    public void Append(string conversationId, ChatMemoryMessage message)
    {
        var key = KeyFor(conversationId);
        AppendCore(conversationId, key, [_rules.Checked(message, nameof(message))]);
    }

    /// <inheritdoc cref="AppendTurnAsync(string, ChatMemoryMessage, ChatMemoryMessage, CancellationToken)"/>
    /// <remarks>Never waits for a model: with an inline summarizer (<see cref="ChatMemorySummarizerOptions.Inline"/>), the
    /// summarization this append triggers runs in the background, and the append returns once the messages are stored.</remarks>
    public void AppendTurn(string conversationId, ChatMemoryMessage user, ChatMemoryMessage assistant)
    {
        var key = KeyFor(conversationId);
        AppendCore(conversationId, key, _rules.Turn(user, assistant));
    }

    /// <inheritdoc cref="AppendManyAsync(string, IEnumerable{ChatMemoryMessage}, CancellationToken)"/>
    /// <remarks>Never waits for a model: with an inline summarizer (<see cref="ChatMemorySummarizerOptions.Inline"/>), the
    /// summarization this append triggers runs in the background, and the append returns once the messages are stored.</remarks>
    public void AppendMany(string conversationId, IEnumerable<ChatMemoryMessage> messages)
    {
        var key = KeyFor(conversationId);
        var batch = _rules.Batch(messages);
        if (batch.Length > 0)
        {
            AppendCore(conversationId, key, batch);
        }
    }

    /// <inheritdoc cref="GetHistoryAsync(string, CancellationToken)"/>
    public IReadOnlyList<ChatMemoryMessage> GetHistory(string conversationId) =>
        Read(conversationId, KeyFor(conversationId));

    /// <inheritdoc cref="GetHistoryAsync(string, int, CancellationToken)"/>
    public IReadOnlyList<ChatMemoryMessage> GetHistory(string conversationId, int maxTokens)
    {
        var key = KeyFor(conversationId);
        var counter = CounterFor(maxTokens);
        return ModelHistory.Filter(WindowPolicy.FitToBudget(Read(conversationId, key), maxTokens, counter, _config.Window));
    }

    /// <inheritdoc cref="CountAsync(string, CancellationToken)"/>
    public long Count(string conversationId) =>
        Execute<PlainCommand<long>, long>("count", conversationId, CountCommand(KeyFor(conversationId)));

    /// <inheritdoc cref="ClearAsync(string, CancellationToken)"/>
    public void Clear(string conversationId)
    {
        Execute<PlainCommand<bool>, bool>("clear", conversationId, ClearCommand(KeyFor(conversationId)));
        _owners?.ClearedAsync(conversationId, Task.CompletedTask, CancellationToken.None).GetAwaiter().GetResult();
    }
}

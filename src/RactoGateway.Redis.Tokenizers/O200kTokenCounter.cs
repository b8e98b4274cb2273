using Microsoft.ML.Tokenizers;

namespace RactoGateway.Redis.Tokenizers;

/// <summary>
/// Counts tokens with OpenAI's o200k_base encoding (GPT-4o, GPT-4.1, o-series), from Microsoft.ML.Tokenizers and its
/// data package: no download at run time. Per message it adds the framing OpenAI's chat format costs.
/// </summary>
public sealed class O200kTokenCounter : IChatTokenCounter
{
    // OpenAI's chat format wraps each message in about 3 tokens (<|start|>role ... <|end|>) plus the role itself.
    private const int PerMessageOverhead = 4;

    private static readonly Lazy<O200kTokenCounter> Shared = new(() => new O200kTokenCounter());

    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");

    private O200kTokenCounter()
    {
    }

    /// <summary>The shared instance (the encoding tables load once, on first use; it is thread-safe).</summary>
    public static O200kTokenCounter Instance => Shared.Value;

    /// <summary>Tokens of <paramref name="text"/> alone, without message framing.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The token count.</returns>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.CountTokens(text);
    }

    /// <inheritdoc />
    public int CountTokens(ChatMemoryMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var tokens = PerMessageOverhead + _tokenizer.CountTokens(message.Content);
        if (message.AuthorName is { } name)
        {
            tokens += 1 + _tokenizer.CountTokens(name);
        }

        foreach (var call in message.ToolCalls ?? [])
        {
            tokens += PerMessageOverhead + _tokenizer.CountTokens(call.Name) + _tokenizer.CountTokens(call.Arguments);
        }

        return tokens;
    }
}

/// <summary>Sets <see cref="ChatMemoryConfig.TokenCounter"/> to <see cref="O200kTokenCounter"/>.</summary>
public static class ChatMemoryConfigTokenizerExtensions
{
    /// <summary>Counts tokens with o200k_base for <c>GetHistoryAsync(conversationId, maxTokens)</c>.</summary>
    /// <param name="config">The settings to change.</param>
    /// <returns><paramref name="config"/>, for chaining.</returns>
    public static ChatMemoryConfig UseO200kTokenCounter(this ChatMemoryConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.TokenCounter = O200kTokenCounter.Instance;
        return config;
    }
}

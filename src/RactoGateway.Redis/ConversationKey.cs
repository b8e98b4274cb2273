using System.Text;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// The one owner of a conversation's key, <c>{KeyPrefix}:{conversationId}</c> (the layout Python ractogateway reads):
/// built for an id, read back into the id, and matched by SCAN with the prefix taken literally.
/// </summary>
/// <param name="prefix">The key prefix (<see cref="ChatMemoryConfig.KeyPrefix"/>).</param>
internal sealed class ConversationKey(string prefix)
{
    private readonly string _head = prefix + ":";

    /// <summary>The key of <paramref name="conversationId"/>.</summary>
    public RedisKey For(string conversationId) => new(_head + conversationId);

    /// <summary>The conversation id of <paramref name="key"/>, one of this prefix's keys.</summary>
    public string IdOf(RedisKey key) => ((string)key!)[_head.Length..];

    /// <summary>The SCAN pattern for the conversations whose ids match <paramref name="match"/> (a glob, or the text
    /// itself when <paramref name="literal"/>; <see langword="null"/> for all).</summary>
    /// <exception cref="ArgumentException"><paramref name="match"/> is empty.</exception>
    public string Pattern(string? match, bool literal)
    {
        if (match is { Length: 0 })
        {
            throw new ArgumentException("The match pattern must not be empty (null matches every conversation).", nameof(match));
        }

        return EscapeGlob(_head) + (match is null ? "*" : literal ? EscapeGlob(match) : match);
    }

    /// <summary>Escapes Redis glob characters so that <paramref name="text"/> matches only itself.</summary>
    public static string EscapeGlob(string text)
    {
        var builder = new StringBuilder(text.Length + 4);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}

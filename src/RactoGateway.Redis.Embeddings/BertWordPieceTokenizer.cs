using System.Globalization;
using System.Text;

namespace RactoGateway.Redis.Embeddings;

/// <summary>
/// The uncased BERT tokenizer all-MiniLM-L6-v2 was trained with, as Hugging Face's <c>BertTokenizer</c> does it:
/// clean, split CJK ideographs, split on white space, lower case, strip accents, split off punctuation, then
/// WordPiece (greedy longest match, <c>##</c> for a word's continuation, <c>[UNK]</c> for a word it cannot cover).
/// </summary>
/// <remarks>
/// Written here rather than taken from Microsoft.ML.Tokenizers (2.0.1), whose BertTokenizer deletes tabs and line
/// breaks instead of reading them as spaces (so "two\tthree" became "two ##th ##ree") and drops symbols such as
/// <c>$</c>, <c>=</c> and emoji, where the model's tokenizer keeps <c>$</c> and <c>=</c> and reads an emoji as
/// <c>[UNK]</c>. The cases are in the tests (BertWordPieceTokenizerTests).
/// </remarks>
internal sealed class BertWordPieceTokenizer
{
    private const int MaxCharsPerWord = 100;   // Hugging Face's max_input_chars_per_word: a longer word is [UNK]

    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public BertWordPieceTokenizer(Stream vocabulary)
    {
        _vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        using var reader = new StreamReader(vocabulary, Encoding.UTF8);
        for (var (line, id) = (reader.ReadLine(), 0); line is not null; line = reader.ReadLine(), id++)
        {
            _vocabulary.TryAdd(line, id);   // the id is the line number; a repeated line keeps its first id
        }

        _lookup = _vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        ClassificationId = Id("[CLS]");
        SeparatorId = Id("[SEP]");
        UnknownId = Id("[UNK]");
        VocabularySize = _vocabulary.Count == 0 ? 0 : _vocabulary.Values.Max() + 1;
    }

    public int ClassificationId { get; }

    public int SeparatorId { get; }

    public int UnknownId { get; }

    public int VocabularySize { get; }

    /// <summary>[CLS], the word pieces of <paramref name="text"/> (the first <paramref name="maxTokens"/> - 2), [SEP].</summary>
    public List<int> Encode(string text, int maxTokens)
    {
        var ids = new List<int> { ClassificationId };
        var room = maxTokens - 2;
        var pieces = new List<int>();
        foreach (var word in Words(text))
        {
            // A word is resolved whole before it is cut, so a word that ends in something no piece covers is [UNK]
            // even when the cut falls inside it (as when the tokenizer truncates the full list afterwards).
            Pieces(word, pieces);
            var take = Math.Min(pieces.Count, room - (ids.Count - 1));
            ids.AddRange(pieces.GetRange(0, take));
            if (ids.Count - 1 == room)
            {
                break;
            }
        }

        ids.Add(SeparatorId);
        return ids;
    }

    private int Id(string token) =>
        _vocabulary.TryGetValue(token, out var id) ? id : throw new InvalidDataException($"The vocabulary has no {token}.");

    /// <summary>The word's pieces, greedy longest first; one [UNK] for a word no pieces cover.</summary>
    private void Pieces(string word, List<int> pieces)
    {
        pieces.Clear();
        if (word.Length > MaxCharsPerWord)
        {
            pieces.Add(UnknownId);
            return;
        }

        Span<char> buffer = stackalloc char[MaxCharsPerWord + 2];
        buffer[0] = buffer[1] = '#';
        for (var start = 0; start < word.Length;)
        {
            var found = -1;
            var end = word.Length;
            for (; end > start; end--)
            {
                // A continuation is looked up with its "##" prefix.
                scoped var piece = word.AsSpan(start, end - start);
                if (start > 0)
                {
                    piece.CopyTo(buffer[2..]);
                    piece = buffer[..(piece.Length + 2)];
                }

                if (_lookup.TryGetValue(piece, out found))
                {
                    break;
                }
            }

            if (end == start)
            {
                pieces.Clear();
                pieces.Add(UnknownId);
                return;
            }

            pieces.Add(found);
            start = end;
        }
    }

    /// <summary>The words WordPiece sees: cleaned, lower-cased, accents stripped, punctuation and CJK split off.</summary>
    private static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (rune.Value is 0 or 0xFFFD || (IsControl(rune, category) && !IsWhiteSpace(rune, category)))
            {
                continue;   // dropped, as Hugging Face's _clean_text drops them
            }

            if (IsWhiteSpace(rune, category))
            {
                if (Flush(word) is { } w)
                {
                    foreach (var piece in Split(w))
                    {
                        yield return piece;
                    }
                }

                continue;
            }

            if (IsCjkIdeograph(rune.Value))
            {
                if (Flush(word) is { } w)
                {
                    foreach (var piece in Split(w))
                    {
                        yield return piece;
                    }
                }

                word.Append(rune.ToString());
                foreach (var piece in Split(Flush(word)!))
                {
                    yield return piece;
                }

                continue;
            }

            word.Append(rune.ToString());
        }

        if (Flush(word) is { } last)
        {
            foreach (var piece in Split(last))
            {
                yield return piece;
            }
        }
    }

    private static string? Flush(StringBuilder word)
    {
        if (word.Length == 0)
        {
            return null;
        }

        var s = word.ToString();
        word.Clear();
        return s;
    }

    /// <summary>Lower case, accents stripped (NFD without its combining marks), then each punctuation mark its own word.</summary>
    private static IEnumerable<string> Split(string word)
    {
        var decomposed = word.ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var current = new StringBuilder();
        foreach (var rune in decomposed.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (IsPunctuation(rune, category))
            {
                if (current.Length > 0)
                {
                    yield return current.ToString();
                    current.Clear();
                }

                yield return rune.ToString();
                continue;
            }

            current.Append(rune.ToString());
        }

        if (current.Length > 0)
        {
            yield return current.ToString();
        }
    }

    // Hugging Face's _is_whitespace: space, tab, line feed, carriage return, or a space separator (Zs).
    private static bool IsWhiteSpace(Rune rune, UnicodeCategory category) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || category == UnicodeCategory.SpaceSeparator;

    // Hugging Face's _is_control: any "C" category (control, format, surrogate, private use, unassigned).
    private static bool IsControl(Rune rune, UnicodeCategory category) =>
        rune.Value is not ('\t' or '\n' or '\r') && category is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    // Hugging Face's _is_punctuation: every non-alphanumeric printable ASCII character ($, =, ^ too), and any "P" category.
    private static bool IsPunctuation(Rune rune, UnicodeCategory category) =>
        rune.Value is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)
        || category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;

    // Hugging Face's _is_chinese_char: the CJK Unified Ideographs blocks (not Hiragana, Katakana or Hangul).
    private static bool IsCjkIdeograph(int c) =>
        c is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}

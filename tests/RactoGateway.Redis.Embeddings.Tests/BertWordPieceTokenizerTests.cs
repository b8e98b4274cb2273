namespace RactoGateway.Redis.Embeddings.Tests;

/// <summary>
/// The tokenizer does what Hugging Face's uncased BertTokenizer does (the rules of its BasicTokenizer and
/// WordpieceTokenizer), shown as word pieces read back through the vocabulary.
/// </summary>
public sealed class BertWordPieceTokenizerTests
{
    private static readonly (BertWordPieceTokenizer Tokenizer, string[] Vocabulary) Model = Open();

    [Theory]
    [InlineData("Hello, World!", "hello , world !")]
    [InlineData("line one\nline two\tthree\r\nfour", "line one line two three four")]   // tabs and line breaks are spaces
    [InlineData("$5 = x^2 | y~z", "$ 5 = x ^ 2 | y ~ z")]                                   // every ASCII symbol splits off
    [InlineData("Café résumé naïve", "cafe resume naive")]                                  // lower case, accents stripped
    [InlineData("ΚΑΛΗΜΈΡΑ", "κ ##α ##λ ##η ##μ ##ε ##ρ ##α")]
    [InlineData("a\u0000b\u0007c zero\u200bwidth", "abc zero ##wi ##dt ##h")]                  // control and format characters dropped
    [InlineData("no\u00a0break", "no break")]                                               // a space separator is a space
    [InlineData("我的狗", "我 的 [UNK]")]                                                    // CJK ideographs one by one
    [InlineData("こんにちは", "こ ##ん ##に ##ち ##は")]                                     // kana are letters of a word
    [InlineData("🐕🐕 🎉", "[UNK] [UNK]")]                                                  // a word no piece covers is [UNK]
    [InlineData("«quoted» — dash", "« quoted » — dash")]                                    // Unicode punctuation splits off
    [InlineData("", "")]
    public void Text_becomes_the_word_pieces_of_the_uncased_BERT_tokenizer(string text, string pieces)
    {
        var ids = Model.Tokenizer.Encode(text, 512);

        Assert.Equal("[CLS]", Model.Vocabulary[ids[0]]);
        Assert.Equal("[SEP]", Model.Vocabulary[ids[^1]]);
        Assert.Equal(pieces, string.Join(' ', ids.Skip(1).SkipLast(1).Select(id => Model.Vocabulary[id])));
    }

    [Fact]
    public void A_word_longer_than_100_characters_is_one_unknown_piece()
    {
        var ids = Model.Tokenizer.Encode("short " + new string('a', 101) + " end", 512);

        Assert.Equal("short [UNK] end", string.Join(' ', ids.Skip(1).SkipLast(1).Select(id => Model.Vocabulary[id])));
    }

    [Fact]
    public void Long_text_keeps_its_first_510_pieces_between_CLS_and_SEP()
    {
        var ids = Model.Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("cat dog", 600)), 512);

        Assert.Equal(512, ids.Count);
        Assert.Equal("[CLS]", Model.Vocabulary[ids[0]]);
        Assert.Equal("[SEP]", Model.Vocabulary[ids[^1]]);
        Assert.Equal("dog", Model.Vocabulary[ids[^2]]);   // pieces 1..510: cat dog ... dog
    }

    [Fact]
    public void A_word_the_cut_falls_inside_is_resolved_whole_first()
    {
        // 509 pieces, then a word whose first piece would fit but whose end no piece covers: the word is [UNK].
        var text = string.Join(' ', Enumerable.Repeat("cat", 509)) + " cats🐕 more";

        var ids = Model.Tokenizer.Encode(text, 512);

        Assert.Equal(512, ids.Count);
        Assert.Equal("[UNK]", Model.Vocabulary[ids[^2]]);
    }

    private static (BertWordPieceTokenizer, string[]) Open()
    {
        var assembly = typeof(MiniLMEmbeddingGenerator).Assembly;
        using var stream = assembly.GetManifestResourceStream("RactoGateway.Redis.Embeddings.minilm-l6-v2.vocab.txt")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        var tokenizer = new BertWordPieceTokenizer(copy);
        var vocabulary = System.Text.Encoding.UTF8.GetString(copy.ToArray()).Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        return (tokenizer, vocabulary);
    }
}

using System.Text;
using System.Text.Json;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The rolling summary's element (<see cref="SummaryElement"/>): its fixed byte layout, which append.lua and summary.lua
/// match with one pattern, is read back exactly and nothing else passes for it; its text is JSON a Python reader takes as
/// a system message; and a list read (<see cref="MessageCodec.DecodeAll(RedisValue[], out int)"/>) returns it marked,
/// after the pinned system messages, without its pending elements.
/// </summary>
public sealed class SummaryElementTests
{
    private static string Element(long pending, long folded, long dropped, string epoch, string text) =>
        $"{{\"role\":\"system\",\"summary\":{{\"pending\":{pending},\"folded\":{folded},\"dropped\":{dropped},\"epoch\":\"{epoch}\"}},\"content\":{Encoding.UTF8.GetString(SummaryElement.EncodeText(text))}}}";

    private static RedisValue Plain(string role, string content) => MessageCodec.Encode(role, content);

    [Fact]
    public void The_header_is_read_exactly()
    {
        var element = Encoding.UTF8.GetBytes(Element(3, 10, 2, "1733400000123456", "gist"));

        Assert.True(SummaryElement.TryReadHeader(element, out var header));
        Assert.Equal(new SummaryHeader(3, 10, 2, "1733400000123456"), header);
        Assert.Equal(12, header.Position);

        var max = Encoding.UTF8.GetBytes(Element(long.MaxValue, 0, 0, "1", ""));
        Assert.True(SummaryElement.TryReadHeader(max, out var big));
        Assert.Equal(long.MaxValue, big.Pending);
    }

    [Fact]
    public void A_summary_element_is_a_plain_system_message_to_any_JSON_reader()
    {
        var element = Encoding.UTF8.GetBytes(Element(0, 5, 0, "1", "The user's dog is \"Biscuit\".\nThey live in Lisbon."));

        Assert.Equal(new ChatMemoryMessage("system", "The user's dog is \"Biscuit\".\nThey live in Lisbon."), MessageCodec.TryDecodeJson(element));
        using var json = JsonDocument.Parse(element);
        Assert.Equal(["role", "summary", "content"], json.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("""{"role": "system", "summary": {"pending": 1, "folded": 0, "dropped": 0, "epoch": "1"}, "content": "x"}""")]    // Python's spacing
    [InlineData("""{"role":"system","summary":{"folded":0,"pending":1,"dropped":0,"epoch":"1"},"content":"x"}""")]                // another order
    [InlineData("""{"summary":{"pending":1,"folded":0,"dropped":0,"epoch":"1"},"role":"system","content":"x"}""")]
    [InlineData("""{"role":"user","summary":{"pending":1,"folded":0,"dropped":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":-1,"folded":0,"dropped":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":1,"folded":-3,"dropped":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":"1","folded":0,"dropped":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":,"folded":0,"dropped":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":9223372036854775808,"folded":0,"dropped":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":1,"folded":0,"epoch":"1"},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":1,"folded":0,"dropped":0},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":1,"folded":0,"dropped":0,"epoch":""},"content":"x"}""")]
    [InlineData("""{"role":"system","summary":{"pending":1,"folded":0,"dropped":0,"epoch":"1""")]
    [InlineData("""{"role":"system","summary":{"pending":""")]
    [InlineData("""{"role":"system","content":"an ordinary system message"}""")]
    [InlineData("")]
    public void Nothing_else_passes_for_a_summary_header(string element) =>
        Assert.False(SummaryElement.TryReadHeader(Encoding.UTF8.GetBytes(element), out _));

    [Theory]
    [InlineData("")]
    [InlineData("plain text")]
    [InlineData("quote \" backslash \\ slash /")]
    [InlineData("lines\r\n\ttabs\u0000\u001f\u007f")]
    [InlineData("café 日本語 مرحبا 🙂👍🏽")]
    [InlineData("<b>&amp;</b> 'single' `tick`")]
    [InlineData("\u2028\u2029 separators")]
    public void The_text_is_a_JSON_string_that_reads_back_to_itself(string text)
    {
        var encoded = SummaryElement.EncodeText(text);

        Assert.Equal((byte)'"', encoded[0]);
        Assert.Equal((byte)'"', encoded[^1]);
        Assert.Equal(text, JsonSerializer.Deserialize<string>(encoded));
        Assert.Equal(text, MessageCodec.TryDecodeJson(Encoding.UTF8.GetBytes(Element(0, 1, 0, "7", text)))!.Content);

        // No raw control character or unescaped quote can end up in the element summary.lua writes.
        Assert.DoesNotContain(encoded[1..^1], b => b < 0x20);
    }

    [Fact]
    public void Non_ASCII_text_of_the_BMP_stays_UTF8_and_the_rest_is_escaped()
    {
        // The relaxed encoder keeps BMP letters as UTF-8 but escapes characters outside the BMP as surrogate pairs.
        Assert.Equal("\"café 日本\""u8.ToArray(), SummaryElement.EncodeText("café 日本"));
        Assert.Equal("\"\\uD83D\\uDE42\""u8.ToArray(), SummaryElement.EncodeText("🙂"));
        Assert.Equal("\"a\\\"b\\\\c\\nd\""u8.ToArray(), SummaryElement.EncodeText("a\"b\\c\nd"));
    }

    [Fact]
    public void A_list_read_returns_the_pins_then_the_marked_summary_then_the_window_without_pending_elements()
    {
        RedisValue[] list =
        [
            Plain("system", "You are helpful."),
            Plain("system", "Answer in French."),
            Element(2, 40, 3, "99", "They talked about dogs."),
            Plain("user", "pending 1"),
            Plain("assistant", "pending 2"),
            Plain("user", "q"),
            Plain("assistant", "a"),
        ];

        var messages = MessageCodec.DecodeAll(list, out var skipped);

        Assert.Equal(0, skipped);
        Assert.Equal(
            [
                new("system", "You are helpful."), new("system", "Answer in French."),
                new ChatMemoryMessage("system", "They talked about dogs.") { IsSummary = true },
                new("user", "q"), new ChatMemoryMessage("assistant", "a"),
            ],
            messages);
    }

    [Fact]
    public void A_summary_without_text_yet_is_left_out_but_its_pending_elements_still_are()
    {
        RedisValue[] list = [Element(2, 0, 0, "1", ""), Plain("user", "p1"), "corrupt pending element", Plain("user", "q")];

        var messages = MessageCodec.DecodeAll(list, out var skipped);

        Assert.Equal([new ChatMemoryMessage("user", "q")], messages);
        Assert.Equal(0, skipped);   // a pending element is not read at all, corrupt or not
    }

    [Fact]
    public void Only_the_element_after_the_pins_is_a_summary_one_later_is_an_ordinary_system_message()
    {
        var late = Element(1, 0, 0, "1", "looks like a summary");
        RedisValue[] list = [Plain("user", "q"), late, Plain("assistant", "not pending")];

        var messages = MessageCodec.DecodeAll(list, out _);

        Assert.Equal([new("user", "q"), new("system", "looks like a summary"), new ChatMemoryMessage("assistant", "not pending")], messages);
        Assert.DoesNotContain(messages, m => m.IsSummary);
    }

    [Fact]
    public void Three_thousand_pending_elements_are_passed_over_and_a_pending_count_past_the_end_is_harmless()
    {
        var list = new List<RedisValue> { Plain("system", "pin"), Element(3_000, 7, 0, "5", "gist") };
        list.AddRange(Enumerable.Range(0, 3_000).Select(i => Plain(i % 2 == 0 ? "user" : "assistant", "old " + i)));
        list.AddRange(Enumerable.Range(0, 20).Select(i => Plain(i % 2 == 0 ? "user" : "assistant", "new " + i)));

        var messages = MessageCodec.DecodeAll([.. list], out var skipped);

        Assert.Equal(0, skipped);
        Assert.Equal(22, messages.Count);
        Assert.Equal(["pin", "gist", .. Enumerable.Range(0, 20).Select(i => "new " + i)], messages.Select(m => m.Content));
        Assert.True(messages[1].IsSummary);

        var short_ = MessageCodec.DecodeAll([Element(10, 0, 0, "5", "gist"), Plain("user", "only one")], out var none);
        Assert.Equal([new ChatMemoryMessage("system", "gist") { IsSummary = true }], short_);
        Assert.Equal(0, none);
    }

    [Fact]
    public void Corrupt_and_null_elements_are_skipped_and_counted_and_the_rest_survive()
    {
        RedisValue[] list = [Plain("user", "first"), RedisValue.Null, "{not json", Plain("assistant", "last"), """{"role":"user"}"""];

        var messages = MessageCodec.DecodeAll(list, out var skipped);

        Assert.Equal([new("user", "first"), new ChatMemoryMessage("assistant", "last")], messages);
        Assert.Equal(3, skipped);
        Assert.Null(MessageCodec.TryDecode(RedisValue.Null));
    }
}

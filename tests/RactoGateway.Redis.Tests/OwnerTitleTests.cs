using RactoGateway.Redis.Testing;

namespace RactoGateway.Redis.Tests;

/// <summary>An owned conversation's title is its first user message, whenever its owner was recorded (docs/recall.md
/// recommends at its start, before any message).</summary>
public sealed class OwnerTitleTests
{
    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task A_conversation_owned_from_its_start_is_titled_by_its_first_user_message(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName, c =>
        {
            c.MaxTurns = 1;
            c.Summarize = true;
        }, features: new ChatMemoryFeatures().AddOwners());
        var owners = bed.Memory.GetRequiredService<ChatMemoryOwners>();
        await owners.SetOwnerAsync("c", "u");
        await bed.Memory.AppendTurnAsync("c", "What's a good name for a cat?", "Miso.");
        await bed.Memory.AppendTurnAsync("c", "And for a dog?", "Biscuit.");
        await owners.SetOwnerAsync("c", "u");
        Assert.Equal("What's a good name for a cat?", (await owners.ListConversationsAsync("u")).Single().Title);

        // Touched only at its start: it gets its title once it has a first user message.
        await owners.SetOwnerAsync("d", "u");
        await bed.Memory.AppendTurnAsync("d", "Hello there", "Hi!");
        await bed.Memory.AppendTurnAsync("d", "Second question", "Answer.");
        Assert.Equal("Hello there", (await owners.ListConversationsAsync("u")).Single(c => c.ConversationId == "d").Title);
    }

    [Theory, InlineData("redis"), InlineData("garnet")]
    public async Task The_first_user_message_titles_the_conversation_even_once_it_is_folded_into_the_summary(string serverName)
    {
        await using var bed = await TestBed.CreateAsync(serverName, c =>
        {
            c.MaxTurns = 1;
            c.Summarize = true;
        }, features: new ChatMemoryFeatures().AddOwners());
        var owners = bed.Memory.GetRequiredService<ChatMemoryOwners>();
        var summarizer = new ChatMemorySummarizer(bed.Memory, new StrictChatClient { Responder = FoldReplies.Fold });
        await owners.SetOwnerAsync("c", "u");
        await bed.Memory.AppendTurnAsync("c", "What's a good name for a cat?", "Miso.");
        await bed.Memory.AppendTurnAsync("c", "And for a dog?", "Biscuit.");
        Assert.Equal(2, await summarizer.SummarizePendingAsync("c"));
        Assert.Equal("What's a good name for a cat?", (await owners.ListConversationsAsync("u")).Single().Title);
    }
}

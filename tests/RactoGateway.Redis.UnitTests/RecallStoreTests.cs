using RactoGateway.Redis.Recall;

namespace RactoGateway.Redis.Tests;

/// <summary>The owner index's conversation titles (<see cref="OwnerIndex.CutTitle"/>); the vector sets and owners on real
/// servers are in the integration tier's RecallStoreTests.</summary>
public class RecallStoreTests
{
    [Fact]
    public void Titles_are_cut_to_80_characters_without_splitting_a_surrogate_pair()
    {
        var cut = OwnerIndex.CutTitle(new string('a', 78) + "\U0001F600\U0001F600 and more");
        Assert.Equal(new string('a', 78) + "…", cut);
        Assert.True(cut!.Length <= OwnerIndex.MaxTitleLength);
        Assert.Equal(new string('b', 80), OwnerIndex.CutTitle(new string('b', 80)));
        Assert.Equal(new string('b', 79) + "…", OwnerIndex.CutTitle(new string('b', 81)));
        Assert.Null(OwnerIndex.CutTitle(" \n\t "));
        Assert.Equal("a b", OwnerIndex.CutTitle("  a \r\n b  "));
    }
}

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The long, CPU-heavy property and scale tests (thousands of appends, sequences or embeddings each) run one after
/// another, beside the other tests but never beside each other: on a 2-core runner two of them at once starved the
/// server and the other tests' calls past their timeouts.
/// </summary>
[CollectionDefinition(Name)]
public sealed class HeavyCollection
{
    public const string Name = "Heavy";
}

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The fault tests (Trait Category=Faults) run one at a time, never beside other tests: they kill servers, measure
/// timings and count unobserved task exceptions process-wide, which parallel tests would disturb.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection
{
    public const string Name = "Faults";
}

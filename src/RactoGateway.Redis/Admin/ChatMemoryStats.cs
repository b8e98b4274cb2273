namespace RactoGateway.Redis;

/// <summary>What <see cref="ChatMemoryAdmin.GetStatsAsync"/> measured over the matching conversations.</summary>
/// <param name="Conversations">Conversations found.</param>
/// <param name="Messages">Stored elements, corrupt ones included.</param>
/// <param name="SampledConversations">Conversations whose <c>MEMORY USAGE</c> was measured.</param>
/// <param name="EstimatedBytes">The sampled average times the number of conversations; <see langword="null"/> when nothing was sampled.</param>
/// <param name="MemoryUsageError">Why <c>MEMORY USAGE</c> was unavailable (a server without it), or <see langword="null"/>.</param>
/// <param name="WithoutExpiry">Conversations with no expiry.</param>
/// <param name="MinTimeToLive">The shortest remaining expiry, or <see langword="null"/> when none has one.</param>
/// <param name="MedianTimeToLive">The median remaining expiry, or <see langword="null"/>.</param>
/// <param name="MaxTimeToLive">The longest remaining expiry, or <see langword="null"/>.</param>
public sealed record ChatMemoryStats(
    long Conversations,
    long Messages,
    long SampledConversations,
    long? EstimatedBytes,
    string? MemoryUsageError,
    long WithoutExpiry,
    TimeSpan? MinTimeToLive,
    TimeSpan? MedianTimeToLive,
    TimeSpan? MaxTimeToLive);

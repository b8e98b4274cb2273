namespace RactoGateway.Redis;

/// <summary>The names to listen to for the memory's traces and metrics (OpenTelemetry: <c>AddSource</c>, <c>AddMeter</c>).</summary>
public static class ChatMemoryTelemetry
{
    /// <summary>The name of both the <see cref="System.Diagnostics.ActivitySource"/> and the
    /// <see cref="System.Diagnostics.Metrics.Meter"/>: <c>RactoGateway.Redis</c>.</summary>
    public const string Name = "RactoGateway.Redis";
}

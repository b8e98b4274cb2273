using System.Text.Json.Serialization;

namespace RactoGateway.Redis.Cli.Bench;

/// <summary>The <c>--json</c> shape: snake_case keys, source-generated.</summary>
[JsonSerializable(typeof(BenchResult))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class BenchJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace RactoGateway.Redis.Wire;

/// <summary>Source-generated (trim- and AOT-safe) System.Text.Json metadata for the wire format.</summary>
[JsonSerializable(typeof(WireMessage))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class ChatMemoryJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace RactoGateway.Redis.Wire;

/// <summary>
/// One list element as ractogateway stores it: a JSON object with the string fields <c>role</c> and <c>content</c>.
/// Fields are nullable so that a missing field reads as null and the element is skipped, not thrown on.
/// </summary>
internal sealed class WireMessage
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    [JsonPropertyName("content")]
    public string? Content { get; set; }
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Http;

/// <summary>What kind of JSON value a node is, and how OpenAI's error messages name it.</summary>
public static class JsonKinds
{
    public static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;

    /// <summary>True for a JSON number that fits a double (not <c>1e400</c>).</summary>
    public static bool IsFiniteNumber(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && double.IsFinite(d);

    public static string Describe(JsonNode? node) => Kind(node) switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}

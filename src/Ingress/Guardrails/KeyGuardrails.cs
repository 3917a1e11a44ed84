using System.Text.Json.Nodes;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// <c>guardrails</c> on /key/generate, /key/update and the user and team routes: kept in the record's metadata jsonb
/// (<c>metadata.guardrails</c>, as LiteLLM does), where <see cref="GuardrailPipeline"/> reads it on every request.
/// Folded into metadata by <see cref="Keys.MetadataFields"/>.
/// </summary>
public static class KeyGuardrails
{
    public const string MetadataKey = "guardrails";

    /// <summary>A body's <c>guardrails</c> as a sorted list of names; an error text when it is not a list of names.</summary>
    public static (bool Given, JsonNode? Value, string? Error) Take(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!body.TryGetPropertyValue(MetadataKey, out var node))
        {
            return (false, null, null);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        if (node is JsonObject || !GuardrailPipeline.AddNames(names, node))
        {
            return (false, null, "guardrails: expected a list of guardrail names");
        }

        return (true, new JsonArray(names.Order(StringComparer.Ordinal).Select(n => (JsonNode)JsonValue.Create(n)).ToArray()), null);
    }
}

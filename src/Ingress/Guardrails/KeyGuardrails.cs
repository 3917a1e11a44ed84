using System.Text.Json.Nodes;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// <c>guardrails</c> on /key/generate, /key/update and the team routes: kept in the record's metadata jsonb
/// (<c>metadata.guardrails</c>, as LiteLLM does), where <see cref="GuardrailPipeline"/> reads it on every request.
/// </summary>
public static class KeyGuardrails
{
    /// <summary>Moves a body's <c>guardrails</c> into its <c>metadata</c>; an error text when it is not a list of names.</summary>
    public static string? IntoMetadata(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!body.TryGetPropertyValue("guardrails", out var node))
        {
            return null;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        if (node is JsonObject || !GuardrailPipeline.AddNames(names, node))
        {
            return "guardrails: expected a list of guardrail names";
        }

        body.Remove("guardrails");
        if (body["metadata"] is not JsonObject metadata)
        {
            if (body["metadata"] is not null)
            {
                return null;
            }

            metadata = [];
            body["metadata"] = metadata;
        }

        metadata["guardrails"] = new JsonArray(names.Order(StringComparer.Ordinal).Select(n => (JsonNode)JsonValue.Create(n)).ToArray());
        return null;
    }
}

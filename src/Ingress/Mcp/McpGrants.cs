using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Mcp;

/// <summary>
/// <c>mcp_servers</c> on <c>/key/generate</c>, <c>/key/update</c>, <c>/team/new</c>, ... (also LiteLLM's
/// <c>object_permission.mcp_servers</c>): kept in the record's existing <c>metadata</c> (<c>metadata.mcp_servers</c>), read by
/// <see cref="McpAccess"/>.
/// </summary>
public static class McpGrants
{
    public const string MetadataKey = "mcp_servers";

    /// <summary>The request's server list (null = no restriction); an error text when it is not a list of strings. Folded into metadata by <see cref="Keys.MetadataFields"/>.</summary>
    public static (bool Given, JsonNode? Value, string? Error) Take(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        JsonNode? list;
        string field;
        if (body.TryGetPropertyValue(MetadataKey, out var top))
        {
            (list, field) = (top, MetadataKey);
        }
        else if (body["object_permission"] is JsonObject permission && permission.TryGetPropertyValue(MetadataKey, out var nested))
        {
            (list, field) = (nested, "object_permission.mcp_servers");
        }
        else
        {
            return (false, null, null);
        }

        if (list is not null && (list is not JsonArray array || array.Any(i => i is not JsonValue v || v.GetValueKind() != JsonValueKind.String)))
        {
            return (false, null, $"{field}: expected a list of MCP server names");
        }

        return (true, list?.DeepClone(), null);
    }
}

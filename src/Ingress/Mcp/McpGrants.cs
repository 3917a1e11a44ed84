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

    /// <summary>Moves the request's server list into <c>metadata</c>; an error text when it is not a list of strings.</summary>
    public static string? Fold(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        JsonNode? list = null;
        var given = false;
        var field = MetadataKey;
        if (body.TryGetPropertyValue(MetadataKey, out var top))
        {
            (list, given) = (top, true);
        }
        else if (body["object_permission"] is JsonObject permission && permission.TryGetPropertyValue(MetadataKey, out var nested))
        {
            (list, given, field) = (nested, true, "object_permission.mcp_servers");
        }

        if (!given)
        {
            return null;
        }

        if (list is not null && (list is not JsonArray array || array.Any(i => i is not JsonValue v || v.GetValueKind() != JsonValueKind.String)))
        {
            return $"{field}: expected a list of MCP server names";
        }

        if (body["metadata"] is null)
        {
            body["metadata"] = new JsonObject();
        }

        if (body["metadata"] is JsonObject metadata)
        {
            metadata[MetadataKey] = list?.DeepClone();
        }

        return null;
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Keys;

namespace Broker.Ingress.Auth;

/// <summary>
/// A request's tags as LiteLLM gathers them: the body's <c>metadata.tags</c> and <c>tags</c> (a list or one string), then
/// the key's and the team's <c>metadata.tags</c>. They are the request's spend tags and, with
/// router_settings.enable_tag_filtering, choose its deployments.
/// </summary>
internal static class RequestTags
{
    public static List<string> Of(JsonObject? body, KeyRecord? key, TeamRecord? team)
    {
        var tags = new List<string>();
        Add(tags, (body?["metadata"] as JsonObject)?["tags"]);
        Add(tags, body?["tags"]);
        Add(tags, MetadataTags(key?.Metadata));
        Add(tags, MetadataTags(team?.Metadata));
        return tags;
    }

    /// <summary>
    /// Where the body carries tags of its own (<c>metadata.tags</c>, <c>litellm_metadata.tags</c> or <c>tags</c>, each
    /// of which routing reads), or null when it carries none.
    /// </summary>
    public static string? ClientSide(JsonObject? body) =>
        (body?["metadata"] as JsonObject)?["tags"] is { } metadataTags && HasAny(metadataTags) ? "metadata.tags"
        : (body?["litellm_metadata"] as JsonObject)?["tags"] is { } litellmTags && HasAny(litellmTags) ? "litellm_metadata.tags"
        : body?["tags"] is { } tags && HasAny(tags) ? "tags"
        : null;

    private static bool HasAny(JsonNode node) => node is not JsonArray { Count: 0 } && !(node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length == 0);

    private static JsonNode? MetadataTags(string? metadata)
    {
        if (string.IsNullOrEmpty(metadata))
        {
            return null;
        }

        try
        {
            return (JsonNode.Parse(metadata) as JsonObject)?["tags"];
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Add(List<string> tags, JsonNode? node)
    {
        IEnumerable<JsonNode?> items = node switch
        {
            JsonArray array => array,
            JsonValue value => new JsonNode?[] { value },
            _ => Array.Empty<JsonNode?>(),
        };
        foreach (var item in items)
        {
            if (item is JsonValue value && value.GetValueKind() == JsonValueKind.String && value.GetValue<string>() is { Length: > 0 } tag &&
                !tags.Contains(tag, StringComparer.Ordinal))
            {
                tags.Add(tag);
            }
        }
    }
}

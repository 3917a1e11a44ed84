using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;

namespace Broker.Workers.Routing;

/// <summary>
/// router_settings.enable_tag_filtering: a tagged request goes only to the deployments of its group that carry one of
/// its tags (all of them with tag_filtering_match_any: false), else to those tagged <c>default</c>, else it is refused
/// with a 400. An untagged request goes to the <c>default</c>-tagged deployments when there are any, else to any.
/// A request's tags are its <c>tags</c>, its <c>metadata.tags</c> and those the Ingress attached to its caller (the
/// key's and the team's metadata.tags).
/// </summary>
public static class TagRouting
{
    public const string DefaultTag = "default";

    /// <summary>The group narrowed to the deployments the request's tags allow, or the error the client gets.</summary>
    public static (ModelGroup? Group, ProviderError? Error) Filter(ModelGroup group, RouterSettings settings, IReadOnlyCollection<string> requestTags)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(requestTags);
        if (!settings.EnableTagFiltering)
        {
            return (group, null);
        }

        var defaults = group.Deployments.Where(d => d.Tags.Contains(DefaultTag, StringComparer.Ordinal)).ToList();
        if (requestTags.Count == 0)
        {
            return (defaults.Count == 0 ? group : Narrow(group, defaults), null);
        }

        var matching = group.Deployments.Where(d => Matches(d.Tags, requestTags, settings.TagFilteringMatchAny)).ToList();
        if (matching.Count > 0)
        {
            return (Narrow(group, matching), null);
        }

        if (defaults.Count > 0)
        {
            return (Narrow(group, defaults), null);
        }

        return (null, new ProviderError(ProviderErrorClass.BadRequest, 400,
            $"No deployment of model group '{group.Name}' carries the request's tags [{string.Join(", ", requestTags)}], and none is tagged " +
            $"'{DefaultTag}' (router_settings.enable_tag_filtering is on)", "no_deployments_with_tag_routing"));
    }

    /// <summary>The tags of a request body (<c>tags</c> and <c>metadata.tags</c>, each a list or one string) and its caller's, without repeats.</summary>
    public static IReadOnlyList<string> Of(JsonObject body, IReadOnlyList<string>? callerTags)
    {
        ArgumentNullException.ThrowIfNull(body);
        var tags = new List<string>();
        Add(tags, body["tags"]);
        Add(tags, (body["metadata"] as JsonObject)?["tags"]);
        Add(tags, (body["litellm_metadata"] as JsonObject)?["tags"]);
        foreach (var tag in callerTags ?? [])
        {
            if (!tags.Contains(tag, StringComparer.Ordinal))
            {
                tags.Add(tag);
            }
        }

        return tags;
    }

    private static bool Matches(IReadOnlyList<string> deploymentTags, IReadOnlyCollection<string> requestTags, bool matchAny) =>
        deploymentTags.Count > 0 && (matchAny
            ? requestTags.Any(t => deploymentTags.Contains(t, StringComparer.Ordinal))
            : requestTags.All(t => deploymentTags.Contains(t, StringComparer.Ordinal)));

    private static ModelGroup Narrow(ModelGroup group, List<ModelDeployment> deployments) =>
        deployments.Count == group.Deployments.Count ? group : group with { Deployments = deployments };

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

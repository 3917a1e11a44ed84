using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Ingress.Auth;

/// <summary>
/// Keeps a request's fallbacks within its caller's models. The workers pick fallback groups from the body's
/// <c>fallbacks</c>, <c>context_window_fallbacks</c> and <c>content_policy_fallbacks</c>, else from router_settings
/// (and <c>default_fallbacks</c>); a list that names a group the caller may not use is written into the body without
/// it (an explicit list replaces the configured one), so no worker ever moves the request there.
/// </summary>
public static class FallbackScope
{
    private static readonly string[] Lists = ["fallbacks", "context_window_fallbacks", "content_policy_fallbacks"];

    /// <summary>Restricts <paramref name="body"/>'s fallbacks for a request of <paramref name="model"/>; returns the targets skipped.</summary>
    public static IReadOnlyList<string> Restrict(ProxyConfig config, ModelScope scope, JsonObject body, string model)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(model);
        if (!scope.IsRestricted)
        {
            return [];
        }

        var groups = Candidates(config, config.FindGroup(model)?.Name ?? model);
        var skipped = new List<string>();
        foreach (var list in Lists)
        {
            var targets = Targets(body[list], groups) ?? Configured(config.RouterSettings, list, groups);
            if (targets is null)
            {
                continue;
            }

            var allowed = targets.Where(t => scope.Allows(config, ModelOf(config, t))).ToList();
            if (allowed.Count == targets.Count)
            {
                continue;
            }

            skipped.AddRange(targets.Where(t => !allowed.Contains(t, StringComparer.Ordinal)));
            body[list] = new JsonArray(allowed.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        }

        return skipped.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// A body list as the workers read it: <c>["b"]</c>, <c>[{"model": "b"}]</c> or <c>[{"a": ["b"]}]</c> (for group a);
    /// null when the body has none.
    /// </summary>
    private static List<string>? Targets(JsonNode? node, IReadOnlyList<string> groups)
    {
        if (node is not JsonArray items)
        {
            return null;
        }

        var targets = new List<string>();
        foreach (var item in items)
        {
            switch (item)
            {
                case JsonValue value when value.TryGetValue<string>(out var name) && name.Length > 0:
                    targets.Add(name);
                    break;
                case JsonObject obj when obj["model"] is JsonValue m && m.TryGetValue<string>(out var modelName):
                    targets.Add(modelName);
                    break;
                case JsonObject obj:
                    foreach (var names in groups.Select(g => obj[g]).OfType<JsonArray>())
                    {
                        targets.AddRange(names.OfType<JsonValue>().Select(n => n.TryGetValue<string>(out var s) ? s : null).OfType<string>());
                    }

                    break;
            }
        }

        return targets;
    }

    private static List<string>? Configured(RouterSettings settings, string list, IReadOnlyList<string> groups)
    {
        List<string>? all = null;
        foreach (var group in groups)
        {
            var rule = list switch
            {
                "fallbacks" => RuleFor(settings.Fallbacks, group) ?? settings.DefaultFallbacks,
                "context_window_fallbacks" => RuleFor(settings.ContextWindowFallbacks, group),
                _ => RuleFor(settings.ContentPolicyFallbacks, group),
            };
            if (rule is not null)
            {
                all ??= [];
                all.AddRange(rule.Where(r => !all.Contains(r, StringComparer.Ordinal)));
            }
        }

        return all;
    }

    /// <summary>
    /// The groups a request for <paramref name="group"/> may be queued to: the group, and with router_settings
    /// <c>load_balancing: weighted_round_robin</c> every group it shares traffic with (the worker reads the fallbacks of
    /// the group it received).
    /// </summary>
    private static List<string> Candidates(ProxyConfig config, string group)
    {
        var groups = new List<string> { group };
        if (config.RouterSettings.LoadBalancing is { Strategy: "weighted_round_robin" } balancing &&
            balancing.Weights.Any(w => w.ModelName == group))
        {
            groups.AddRange(balancing.Weights.Select(w => w.ModelName).Where(n => !groups.Contains(n, StringComparer.Ordinal)));
        }

        return groups;
    }

    private static IReadOnlyList<string>? RuleFor(IReadOnlyList<FallbackRule> rules, string group) =>
        (rules.FirstOrDefault(r => r.ModelGroup == group) ?? rules.FirstOrDefault(r => r.ModelGroup == "*"))?.Fallbacks;

    /// <summary>The model name a fallback target is checked as: its group's name for a deployment id, else the target itself.</summary>
    private static string ModelOf(ProxyConfig config, string target)
    {
        if (config.FindGroup(target) is not null)
        {
            return target;
        }

        return config.ModelGroups.FirstOrDefault(g => g.Deployments.Any(d => d.Id == target))?.Name ?? target;
    }
}

using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// When an Anthropic Messages request is passed through unchanged (<c>Format = "anthropic"</c>) rather than translated
/// to OpenAI's shape: its group is all Anthropic deployments and so is every group a retry may fall back to (config
/// <c>fallbacks</c> for the group or <c>"*"</c>, <c>context_window_fallbacks</c>, <c>content_policy_fallbacks</c>,
/// <c>default_fallbacks</c>, and the same keys in the body). A fallback to another provider needs the translated
/// request, which every provider takes.
/// </summary>
public static class AnthropicPassThroughRule
{
    public static bool Applies(ProxyConfig current, ModelGroup group, JsonObject? body)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(group);
        if (!IsAnthropic(group))
        {
            return false;
        }

        var settings = current.RouterSettings;
        var candidates = new List<string>(settings.DefaultFallbacks);
        foreach (var rules in new[] { settings.Fallbacks, settings.ContextWindowFallbacks, settings.ContentPolicyFallbacks })
        {
            foreach (var rule in rules.Where(r => r.ModelGroup == group.Name || r.ModelGroup == "*"))
            {
                candidates.AddRange(rule.Fallbacks);
            }
        }

        foreach (var name in new[] { "fallbacks", "context_window_fallbacks", "content_policy_fallbacks" })
        {
            if (body?[name] is JsonArray list)
            {
                candidates.AddRange(Names(list, group.Name));
            }
        }

        return candidates.Select(current.FindGroup).All(g => g is null || IsAnthropic(g));
    }

    private static bool IsAnthropic(ModelGroup group) => group.Deployments.All(d => d.Provider == "anthropic" && d.MockResponse is null);

    /// <summary><c>["b"]</c>, <c>[{"model": "b"}]</c> or <c>[{"a": ["b"]}]</c>.</summary>
    private static IEnumerable<string> Names(JsonArray list, string groupName)
    {
        foreach (var item in list)
        {
            switch (item)
            {
                case JsonValue value when value.TryGetValue<string>(out var name):
                    yield return name;
                    break;
                case JsonObject obj when obj["model"] is JsonValue model && model.TryGetValue<string>(out var modelName):
                    yield return modelName;
                    break;
                case JsonObject obj when obj[groupName] is JsonArray targets:
                    foreach (var target in targets.OfType<JsonValue>())
                    {
                        if (target.TryGetValue<string>(out var t))
                        {
                            yield return t;
                        }
                    }

                    break;
            }
        }
    }
}

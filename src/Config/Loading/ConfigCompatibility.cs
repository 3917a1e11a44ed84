using System.Text;

namespace Broker.Config.Loading;

/// <summary>
/// The key-by-key compatibility table of docs/compatibility.md, rendered from the keys the loader's readers ask for
/// (<see cref="ConfigLoadResult.KnownKeys"/>) and <see cref="ConfigFeatures"/>, so the page cannot drift from the code.
/// A key not in the table is not read: it is kept, warned about once ("unknown key, ignored") and never fatal.
/// </summary>
public static class ConfigCompatibility
{
    public const string Active = "ACTIVE";

    public const string NotActive = "accepted, not acted on";

    /// <summary>The status of one key pattern and, when it is not fully active, why.</summary>
    public static (string Status, string Note) StatusOf(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (ConfigFeatures.NotActiveReasons.TryGetValue(pattern, out var reason))
        {
            return (NotActive, reason);
        }

        if (ConfigFeatures.NotActiveParentOf(pattern) is { } parent)
        {
            return (NotActive, $"part of `{parent}`");
        }

        if (ConfigFeatures.ActiveOnlyWithValues.TryGetValue(pattern, out var values))
        {
            return (Active, "with " + string.Join(", ", values.Order(StringComparer.Ordinal).Select(v => $"`{v}`")) + "; other values are loaded and not acted on");
        }

        return (Active, "");
    }

    public static string Render(IEnumerable<string> knownKeys)
    {
        ArgumentNullException.ThrowIfNull(knownKeys);
        var sb = new StringBuilder();
        sb.AppendLine("# Compatibility with LiteLLM's config.yaml, key by key");
        sb.AppendLine();
        sb.AppendLine("Generated from the keys Broker's config loader reads (`ConfigCompatibility`); `CompatibilityTableTests` fails");
        sb.AppendLine("when this page is stale and rewrites it. `ACTIVE`: Broker acts on the key. `accepted, not acted on`: the key loads");
        sb.AppendLine("(with an info line at start-up) and the note says what happens instead. A key that is not listed is kept, logged");
        sb.AppendLine("once as `unknown key, ignored`, and never stops the gateway from starting, except in `litellm_params`: there any");
        sb.AppendLine("other key (`temperature`, `max_tokens`, `reasoning_effort`, ...) is a default request parameter merged into every");
        sb.AppendLine("call, and the gateway's own keys (`tags`, `region_name`, `drop_params`, price keys, ...) are never sent to the");
        sb.AppendLine("provider (see configuration.md). `[]` stands for any list index, `<name>` for a name you choose.");
        foreach (var section in knownKeys.Where(k => k.Length > 0).GroupBy(SectionOf).OrderBy(g => SectionOrder(g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.AppendLine();
            sb.AppendLine($"## {section.Key}");
            sb.AppendLine();
            sb.AppendLine("| key | status | note |");
            sb.AppendLine("|---|---|---|");
            foreach (var key in section.Order(StringComparer.Ordinal))
            {
                var (status, note) = StatusOf(key);
                sb.AppendLine($"| `{key}` | {status} | {note} |");
            }
        }

        return sb.ToString();
    }

    private static string SectionOf(string pattern)
    {
        var end = pattern.IndexOfAny(['.', '[']);
        return end < 0 ? "top level" : pattern[..end];
    }

    private static int SectionOrder(string section) => section switch
    {
        "model_list" => 0,
        "router_settings" => 1,
        "litellm_settings" => 2,
        "general_settings" => 3,
        _ => 4,
    };
}

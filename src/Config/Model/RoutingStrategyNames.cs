using System.Collections.Frozen;

namespace Broker.Config.Model;

/// <summary>
/// The router_settings.routing_strategy names Broker acts on: the one list the loader checks against, the
/// "not active yet" report reads, and every Workers strategy is keyed by (a test keeps the two in step). Aliases
/// are resolved when config.yaml is loaded, so <see cref="RouterSettings.RoutingStrategy"/> always holds a canonical name.
/// </summary>
public static class RoutingStrategyNames
{
    public const string SimpleShuffle = "simple-shuffle";

    public const string LeastBusy = "least-busy";

    public const string UsageBased = "usage-based-routing-v2";

    public const string LatencyBased = "latency-based-routing";

    public const string CostBased = "cost-based-routing";

    /// <summary>Canonical names.</summary>
    public static IReadOnlyList<string> All { get; } = [SimpleShuffle, LeastBusy, UsageBased, LatencyBased, CostBased];

    /// <summary>Other names LiteLLM accepts for one of <see cref="All"/>.</summary>
    public static FrozenDictionary<string, string> Aliases { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["usage-based-routing"] = UsageBased,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Every name config.yaml may use: the canonical ones and their aliases.</summary>
    public static IEnumerable<string> Accepted => All.Concat(Aliases.Keys);

    /// <summary>The canonical name for <paramref name="name"/>, or null when Broker does not know it.</summary>
    public static string? Canonical(string name) =>
        All.Contains(name, StringComparer.Ordinal) ? name : Aliases.GetValueOrDefault(name);
}

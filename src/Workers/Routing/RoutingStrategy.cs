namespace Broker.Workers.Routing;

/// <summary>router_settings.routing_strategy.</summary>
public enum RoutingStrategy
{
    SimpleShuffle,
    LeastBusy,
    UsageBasedV2,
    LatencyBased,
    CostBased,
}

public static class RoutingStrategies
{
    /// <summary>The strategies Broker acts on, by their config.yaml names.</summary>
    public static IReadOnlyDictionary<string, RoutingStrategy> ByName { get; } = new Dictionary<string, RoutingStrategy>(StringComparer.Ordinal)
    {
        ["simple-shuffle"] = RoutingStrategy.SimpleShuffle,
        ["least-busy"] = RoutingStrategy.LeastBusy,
        ["usage-based-routing-v2"] = RoutingStrategy.UsageBasedV2,
        ["usage-based-routing"] = RoutingStrategy.UsageBasedV2,
        ["latency-based-routing"] = RoutingStrategy.LatencyBased,
        ["cost-based-routing"] = RoutingStrategy.CostBased,
    };

    public static RoutingStrategy Parse(string? name) =>
        name is not null && ByName.TryGetValue(name, out var strategy) ? strategy : RoutingStrategy.SimpleShuffle;
}

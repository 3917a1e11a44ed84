using Broker.Config.Model;
using Broker.Workers.RateLimits;
using Broker.Workers.Routing.Strategies;

namespace Broker.Workers.Routing;

/// <summary>
/// Picks one deployment among those that may take a request, within the lowest <c>order</c> tier:
/// simple-shuffle (random, weighted by <c>weight</c>, else <c>rpm</c>, else <c>tpm</c>), least-busy (fewest in
/// flight), usage-based-routing-v2 (fewest tokens this minute), latency-based-routing (lowest recent latency; untried
/// deployments first), cost-based-routing (lowest input + output price per token). Ties are broken at random.
/// </summary>
public sealed class DeploymentSelector
{
    private readonly Random _random;
    private readonly Dictionary<string, IRoutingStrategy> _strategies;
    private readonly IRoutingStrategy _default;

    public DeploymentSelector()
        : this(Random.Shared)
    {
    }

    public DeploymentSelector(Random random)
        : this([], random)
    {
    }

    /// <summary>The built-in strategies plus any registered <see cref="IRoutingStrategy"/> (a registered one replaces a built-in of the same name).</summary>
    public DeploymentSelector(IEnumerable<IRoutingStrategy> registered)
        : this(registered, Random.Shared)
    {
    }

    public DeploymentSelector(IEnumerable<IRoutingStrategy> registered, Random random)
    {
        _random = random;
        _strategies = new Dictionary<string, IRoutingStrategy>(StringComparer.Ordinal);
        foreach (var strategy in RoutingStrategies.BuiltIn.Concat(registered))
        {
            _strategies[strategy.Name] = strategy;
        }

        _default = _strategies[RoutingStrategyNames.SimpleShuffle];
    }

    /// <summary>The names of the strategies this selector can run.</summary>
    public IReadOnlyCollection<string> Names => _strategies.Keys;

    /// <summary>simple-shuffle over the whole group (or the pinned deployment), with no routing state.</summary>
    public ModelDeployment? Select(ModelGroup group, string? pinnedDeploymentId = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (pinnedDeploymentId is not null)
        {
            return group.Deployments.FirstOrDefault(d => d.Id == pinnedDeploymentId);
        }

        return Select(group.Deployments.Select(DeploymentLoad.Idle).ToList(), RoutingStrategyNames.SimpleShuffle);
    }

    /// <summary>
    /// Picks among <paramref name="candidates"/> (already filtered: not cooling down, under their limits) with the
    /// strategy of that canonical name (simple-shuffle when none is registered under it).
    /// </summary>
    public ModelDeployment? Select(IReadOnlyList<DeploymentLoad> candidates, string strategy)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0)
        {
            return null;
        }

        var lowestOrder = candidates.Min(c => c.Deployment.Order ?? int.MaxValue);
        var tier = candidates.Where(c => (c.Deployment.Order ?? int.MaxValue) == lowestOrder).ToList();
        if (tier.Count == 1)
        {
            return tier[0].Deployment;
        }

        return _strategies.GetValueOrDefault(strategy, _default).Pick(tier, _random);
    }
}

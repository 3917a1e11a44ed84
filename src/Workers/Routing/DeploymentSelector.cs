using Broker.Config.Model;
using Broker.Workers.RateLimits;

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

    public DeploymentSelector()
        : this(Random.Shared)
    {
    }

    public DeploymentSelector(Random random) => _random = random;

    /// <summary>simple-shuffle over the whole group (or the pinned deployment), with no routing state.</summary>
    public ModelDeployment? Select(ModelGroup group, string? pinnedDeploymentId = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (pinnedDeploymentId is not null)
        {
            return group.Deployments.FirstOrDefault(d => d.Id == pinnedDeploymentId);
        }

        return Select(group.Deployments.Select(DeploymentLoad.Idle).ToList(), RoutingStrategy.SimpleShuffle);
    }

    /// <summary>Picks among <paramref name="candidates"/> (already filtered: not cooling down, under their limits).</summary>
    public ModelDeployment? Select(IReadOnlyList<DeploymentLoad> candidates, RoutingStrategy strategy)
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

        return strategy switch
        {
            RoutingStrategy.LeastBusy => Lowest(tier, c => c.InFlight),
            RoutingStrategy.UsageBasedV2 => Lowest(tier, c => c.TokensThisMinute),
            RoutingStrategy.LatencyBased => Lowest(tier, c => c.LatencyMs ?? 0),
            RoutingStrategy.CostBased => Lowest(tier, c => CostPerToken(c.Deployment)),
            _ => Shuffle(tier),
        };
    }

    /// <summary>input_cost_per_token + output_cost_per_token; unknown prices sort last.</summary>
    public static double CostPerToken(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var info = deployment.ModelInfo;
        return info.InputCostPerToken is null && info.OutputCostPerToken is null
            ? double.MaxValue
            : (double)((info.InputCostPerToken ?? 0) + (info.OutputCostPerToken ?? 0));
    }

    private ModelDeployment Lowest(List<DeploymentLoad> tier, Func<DeploymentLoad, double> measure)
    {
        var best = tier.Min(measure);
        var ties = tier.Where(c => measure(c) <= best).ToList();
        return ties[_random.Next(ties.Count)].Deployment;
    }

    private ModelDeployment Shuffle(List<DeploymentLoad> tier)
    {
        Func<ModelDeployment, double?> weightOf =
            tier.Any(c => c.Deployment.Weight is > 0) ? d => d.Weight :
            tier.Any(c => c.Deployment.Rpm is > 0) ? d => d.Rpm :
            tier.Any(c => c.Deployment.Tpm is > 0) ? d => d.Tpm :
            _ => 1;
        var weights = tier.Select(c => Math.Max(0, weightOf(c.Deployment) ?? 0)).ToArray();
        var total = weights.Sum();
        if (total <= 0)
        {
            return tier[_random.Next(tier.Count)].Deployment;
        }

        var pick = _random.NextDouble() * total;
        for (var i = 0; i < tier.Count; i++)
        {
            pick -= weights[i];
            if (pick < 0)
            {
                return tier[i].Deployment;
            }
        }

        return tier[^1].Deployment;
    }
}

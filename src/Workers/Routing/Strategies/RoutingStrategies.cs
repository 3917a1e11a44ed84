using Broker.Config.Model;
using Broker.Workers.RateLimits;

namespace Broker.Workers.Routing.Strategies;

/// <summary>The strategies Broker ships, one line each, and the shared tie-breaking.</summary>
public static class RoutingStrategies
{
    public static IReadOnlyList<IRoutingStrategy> BuiltIn { get; } =
    [
        new SimpleShuffleStrategy(),
        new LowestMeasureStrategy(RoutingStrategyNames.LeastBusy, c => c.InFlight),
        new LowestMeasureStrategy(RoutingStrategyNames.UsageBased, c => c.TokensThisMinute),
        // untried deployments (no latency yet) count as 0, so they are tried first
        new LowestMeasureStrategy(RoutingStrategyNames.LatencyBased, c => c.LatencyMs ?? 0),
        new LowestMeasureStrategy(RoutingStrategyNames.CostBased, c => CostPerToken(c.Deployment)),
    ];

    /// <summary>input_cost_per_token + output_cost_per_token; unknown prices sort last.</summary>
    public static double CostPerToken(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var info = deployment.ModelInfo;
        return info.InputCostPerToken is null && info.OutputCostPerToken is null
            ? double.MaxValue
            : (double)((info.InputCostPerToken ?? 0) + (info.OutputCostPerToken ?? 0));
    }
}

/// <summary>least-busy, usage-based-routing-v2, latency-based-routing, cost-based-routing: the lowest measure wins; ties at random.</summary>
public sealed class LowestMeasureStrategy(string name, Func<DeploymentLoad, double> measure) : IRoutingStrategy
{
    public string Name => name;

    public ModelDeployment Pick(IReadOnlyList<DeploymentLoad> tier, Random random)
    {
        ArgumentNullException.ThrowIfNull(tier);
        ArgumentNullException.ThrowIfNull(random);
        var best = tier.Min(measure);
        var ties = tier.Where(c => measure(c) <= best).ToList();
        return ties[random.Next(ties.Count)].Deployment;
    }
}

/// <summary>simple-shuffle: at random, weighted by <c>weight</c>, else <c>rpm</c>, else <c>tpm</c>.</summary>
public sealed class SimpleShuffleStrategy : IRoutingStrategy
{
    public string Name => RoutingStrategyNames.SimpleShuffle;

    public ModelDeployment Pick(IReadOnlyList<DeploymentLoad> tier, Random random)
    {
        ArgumentNullException.ThrowIfNull(tier);
        ArgumentNullException.ThrowIfNull(random);
        Func<ModelDeployment, double?> weightOf =
            tier.Any(c => c.Deployment.Weight is > 0) ? d => d.Weight :
            tier.Any(c => c.Deployment.Rpm is > 0) ? d => d.Rpm :
            tier.Any(c => c.Deployment.Tpm is > 0) ? d => d.Tpm :
            _ => 1;
        var weights = tier.Select(c => Math.Max(0, weightOf(c.Deployment) ?? 0)).ToArray();
        var total = weights.Sum();
        if (total <= 0)
        {
            return tier[random.Next(tier.Count)].Deployment;
        }

        var pick = random.NextDouble() * total;
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

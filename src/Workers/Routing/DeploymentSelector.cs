using Broker.Config.Model;

namespace Broker.Workers.Routing;

/// <summary>
/// simple-shuffle: a random deployment, weighted by <c>weight</c>, else <c>rpm</c>, else <c>tpm</c>, else uniform,
/// within the lowest <c>order</c> tier. The other strategies come with shared routing state.
/// </summary>
public sealed class DeploymentSelector
{
    private readonly Random _random;

    public DeploymentSelector()
        : this(Random.Shared)
    {
    }

    public DeploymentSelector(Random random) => _random = random;

    public ModelDeployment? Select(ModelGroup group, string? pinnedDeploymentId = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (pinnedDeploymentId is not null)
        {
            return group.Deployments.FirstOrDefault(d => d.Id == pinnedDeploymentId);
        }

        if (group.Deployments.Count == 0)
        {
            return null;
        }

        var lowestOrder = group.Deployments.Min(d => d.Order ?? int.MaxValue);
        var tier = group.Deployments.Where(d => (d.Order ?? int.MaxValue) == lowestOrder).ToList();
        if (tier.Count == 1)
        {
            return tier[0];
        }

        Func<ModelDeployment, double?> weightOf =
            tier.Any(d => d.Weight is > 0) ? d => d.Weight :
            tier.Any(d => d.Rpm is > 0) ? d => d.Rpm :
            tier.Any(d => d.Tpm is > 0) ? d => d.Tpm :
            _ => 1;
        var weights = tier.Select(d => Math.Max(0, weightOf(d) ?? 0)).ToArray();
        var total = weights.Sum();
        if (total <= 0)
        {
            return tier[_random.Next(tier.Count)];
        }

        var pick = _random.NextDouble() * total;
        for (var i = 0; i < tier.Count; i++)
        {
            pick -= weights[i];
            if (pick < 0)
            {
                return tier[i];
            }
        }

        return tier[^1];
    }
}

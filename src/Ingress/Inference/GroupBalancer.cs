using Broker.Config.Model;

namespace Broker.Ingress.Inference;

/// <summary>
/// Resolves a client's model name to the group that serves it: <see cref="ProxyConfig.FindGroup"/>, then
/// router_settings <c>load_balancing: {strategy: weighted_round_robin, weights: [{model_name, weight}]}</c>,
/// which splits the traffic of the listed groups between them by weight (smooth weighted round robin:
/// weights 0.7/0.3 give 7 of every 10 requests to the first, interleaved, not in runs).
/// </summary>
public sealed class GroupBalancer
{
    private readonly Lock _gate = new();
    private double[] _current = [];

    public ModelGroup? Resolve(ProxyConfig config, string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(config);
        var group = config.FindGroup(requestedModel);
        var balancing = config.RouterSettings.LoadBalancing;
        if (group is null || balancing is null ||
            !string.Equals(balancing.Strategy, "weighted_round_robin", StringComparison.Ordinal) ||
            !balancing.Weights.Any(w => w.ModelName == group.Name))
        {
            return group;
        }

        var candidates = balancing.Weights
            .Select(w => (Weight: w.Weight, Group: config.ModelGroups.FirstOrDefault(g => !g.IsWildcard && g.Name == w.ModelName)))
            .Where(c => c.Group is not null && c.Weight > 0)
            .ToList();
        if (candidates.Count < 2)
        {
            return group;
        }

        lock (_gate)
        {
            if (_current.Length != candidates.Count)
            {
                _current = new double[candidates.Count];
            }

            var total = candidates.Sum(c => c.Weight);
            var best = 0;
            for (var i = 0; i < candidates.Count; i++)
            {
                _current[i] += candidates[i].Weight;
                if (_current[i] > _current[best])
                {
                    best = i;
                }
            }

            _current[best] -= total;
            return candidates[best].Group;
        }
    }
}

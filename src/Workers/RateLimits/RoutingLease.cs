using Broker.Config.Model;

namespace Broker.Workers.RateLimits;

/// <summary>A slot taken on a deployment (and maybe on the gateway) for one request, to give back when it ends.</summary>
public sealed record RoutingLease(string ModelGroup, ModelDeployment Deployment, string LeaseId, bool HoldsGlobalSlot, bool Tracked)
{
    /// <summary>A lease that the routing state does not track (pinned deployments such as health probes).</summary>
    public static RoutingLease Untracked(string modelGroup, ModelDeployment deployment) => new(modelGroup, deployment, "", false, false);
}

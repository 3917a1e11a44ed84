using Broker.Config.Model;

namespace Broker.Workers.RateLimits;

/// <summary>What the routing state knows of one deployment right now, across every worker process.</summary>
public sealed record DeploymentLoad(
    ModelDeployment Deployment,
    int InFlight,
    long RequestsThisMinute,
    long TokensThisMinute,
    double? LatencyMs,
    TimeSpan? CooldownRemaining)
{
    public bool IsCoolingDown => CooldownRemaining is { } left && left > TimeSpan.Zero;

    public static DeploymentLoad Idle(ModelDeployment deployment) => new(deployment, 0, 0, 0, null, null);
}

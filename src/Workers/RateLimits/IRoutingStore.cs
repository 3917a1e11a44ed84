using Broker.Config.Model;
using Broker.ServiceDefaults.Redis;

namespace Broker.Workers.RateLimits;

/// <summary>
/// Per-deployment in-flight requests, usage per minute, latency, failures and cooldowns. Redis holds it for every
/// process (<see cref="RedisRoutingStore"/>); <see cref="LocalRoutingStore"/> holds one process's own.
/// </summary>
public interface IRoutingStore
{
    Task<IReadOnlyList<DeploymentLoad>> ReadAsync(ModelGroup group, CancellationToken cancellationToken);

    /// <summary>Takes a slot when the deployment's limits allow it (atomically).</summary>
    Task<AcquireOutcome> TryAcquireAsync(string group, ModelDeployment deployment, DeploymentLimits limits, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken);

    /// <summary>
    /// For a group of one deployment: what <see cref="ReadAsync"/> then <see cref="TryAcquireAsync"/> decide for it, in one
    /// step (one Redis round trip): its cooldown first (when <paramref name="honourCooldown"/>), else a slot when its
    /// limits allow it.
    /// </summary>
    async Task<SoleAcquire> TryAcquireSoleAsync(
        ModelGroup group, DeploymentLimits limits, string leaseId, DateTimeOffset expires, bool honourCooldown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(limits);
        var load = (await ReadAsync(group, cancellationToken)).Single();
        if (honourCooldown && load.IsCoolingDown)
        {
            return new SoleAcquire(AcquireOutcome.CoolingDown, load.CooldownRemaining);
        }

        return limits.Admits(load)
            ? new SoleAcquire(await TryAcquireAsync(group.Name, load.Deployment, limits, leaseId, expires, cancellationToken), null)
            : new SoleAcquire(AcquireOutcome.MaxParallelReached, null);
    }

    Task<bool> TryAcquireGlobalAsync(int limit, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken);

    Task ReleaseGlobalAsync(string leaseId, CancellationToken cancellationToken);

    /// <summary>Gives the slot back and records the outcome; answers the minute's counts after it.</summary>
    Task<FailureCounts> ReleaseAsync(string group, ModelDeployment deployment, string leaseId, RequestOutcome outcome, CancellationToken cancellationToken);

    /// <summary>Starts a cooldown unless one is running; true when this call started it.</summary>
    Task<bool> StartCooldownAsync(string group, string deploymentId, TimeSpan duration, string reason, CancellationToken cancellationToken);

    Task<IReadOnlyList<ActiveCooldown>> ListCooldownsAsync(IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken);
}

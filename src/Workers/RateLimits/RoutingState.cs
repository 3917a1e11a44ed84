using Broker.Config.Model;
using Broker.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Broker.Workers.RateLimits;

/// <summary>
/// The routing state a worker uses: Redis when <see cref="BrokerRedis"/> has it, else (not configured, down, slow)
/// this process's <see cref="LocalRoutingStore"/>. A failing Redis call is reported once and answered locally, so no
/// request waits on Redis for more than its command timeout.
/// </summary>
public sealed class RoutingState(BrokerRedis redis, TimeProvider timeProvider) : IRoutingStore, ICooldownView
{
    private readonly LocalRoutingStore _local = new(timeProvider);
    private readonly RedisCooldownView _redisCooldowns = new(redis);
    private (IDatabase Db, RedisRoutingStore Store)? _shared;

    public Task<IReadOnlyList<DeploymentLoad>> ReadAsync(ModelGroup group, CancellationToken cancellationToken) =>
        Run(s => s.ReadAsync(group, cancellationToken));

    public Task<AcquireOutcome> TryAcquireAsync(
        string group, ModelDeployment deployment, DeploymentLimits limits, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken) =>
        Run(s => s.TryAcquireAsync(group, deployment, limits, leaseId, expires, cancellationToken));

    public Task<SoleAcquire> TryAcquireSoleAsync(
        ModelGroup group, DeploymentLimits limits, string leaseId, DateTimeOffset expires, bool honourCooldown, CancellationToken cancellationToken) =>
        Run(s => s.TryAcquireSoleAsync(group, limits, leaseId, expires, honourCooldown, cancellationToken));

    public Task<bool> TryAcquireGlobalAsync(int limit, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken) =>
        Run(s => s.TryAcquireGlobalAsync(limit, leaseId, expires, cancellationToken));

    public Task ReleaseGlobalAsync(string leaseId, CancellationToken cancellationToken) =>
        Run(async s =>
        {
            await s.ReleaseGlobalAsync(leaseId, cancellationToken);
            return true;
        });

    public Task<FailureCounts> ReleaseAsync(string group, ModelDeployment deployment, string leaseId, RequestOutcome outcome, CancellationToken cancellationToken) =>
        Run(s => s.ReleaseAsync(group, deployment, leaseId, outcome, cancellationToken));

    public Task<bool> StartCooldownAsync(string group, string deploymentId, TimeSpan duration, string reason, CancellationToken cancellationToken) =>
        Run(s => s.StartCooldownAsync(group, deploymentId, duration, reason, cancellationToken));

    public Task<IReadOnlyList<ActiveCooldown>> ListCooldownsAsync(
        IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken) =>
        redis.Available() is null ? _local.ListCooldownsAsync(deployments, cancellationToken) : _redisCooldowns.ListAsync(deployments, cancellationToken);

    Task<IReadOnlyList<ActiveCooldown>> ICooldownView.ListAsync(
        IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken) =>
        ListCooldownsAsync(deployments, cancellationToken);

    private async Task<T> Run<T>(Func<IRoutingStore, Task<T>> action)
    {
        if (redis.Available() is { } db)
        {
            var shared = _shared;
            if (shared is null || !ReferenceEquals(shared.Value.Db, db))
            {
                shared = (db, new RedisRoutingStore(db, redis.Options.KeyPrefix, timeProvider));
                _shared = shared;
            }

            try
            {
                return await action(shared.Value.Store);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        return await action(_local);
    }
}

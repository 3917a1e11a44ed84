using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Redis;

namespace Broker.Workers.RateLimits;

/// <summary>This process's own routing state: used without Redis, and while Redis does not answer.</summary>
public sealed class LocalRoutingStore(TimeProvider timeProvider) : IRoutingStore
{
    /// <summary>Weight of the newest sample in the latency average.</summary>
    public const double LatencySmoothing = 0.3;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Group, string Deployment), State> _states = [];
    private readonly Dictionary<string, long> _globalInFlight = [];

    public Task<IReadOnlyList<DeploymentLoad>> ReadAsync(ModelGroup group, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        var now = timeProvider.GetUtcNow();
        var loads = new List<DeploymentLoad>(group.Deployments.Count);
        lock (_gate)
        {
            foreach (var deployment in group.Deployments)
            {
                var state = StateOf(group.Name, deployment.Id, now);
                loads.Add(new DeploymentLoad(deployment, state.InFlight.Count, state.Requests, state.Tokens, state.LatencyMs,
                    state.CooldownUntil is { } until && until > now ? until - now : null));
            }
        }

        return Task.FromResult<IReadOnlyList<DeploymentLoad>>(loads);
    }

    public Task<AcquireOutcome> TryAcquireAsync(
        string group, ModelDeployment deployment, DeploymentLimits limits, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(limits);
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            var state = StateOf(group, deployment.Id, now);
            if (limits.MaxParallel is { } p && state.InFlight.Count >= p)
            {
                return Task.FromResult(AcquireOutcome.MaxParallelReached);
            }

            if (limits.Rpm is { } r && state.Requests >= r)
            {
                return Task.FromResult(AcquireOutcome.RpmReached);
            }

            if (limits.Tpm is { } t && state.Tokens >= t)
            {
                return Task.FromResult(AcquireOutcome.TpmReached);
            }

            state.InFlight[leaseId] = expires.ToUnixTimeMilliseconds();
            state.Requests++;
            return Task.FromResult(AcquireOutcome.Acquired);
        }
    }

    public Task<bool> TryAcquireGlobalAsync(int limit, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        var nowMs = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            RemoveExpired(_globalInFlight, nowMs);
            if (_globalInFlight.Count >= limit)
            {
                return Task.FromResult(false);
            }

            _globalInFlight[leaseId] = expires.ToUnixTimeMilliseconds();
            return Task.FromResult(true);
        }
    }

    public Task ReleaseGlobalAsync(string leaseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _globalInFlight.Remove(leaseId);
        }

        return Task.CompletedTask;
    }

    public Task<FailureCounts> ReleaseAsync(string group, ModelDeployment deployment, string leaseId, RequestOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(outcome);
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            var state = StateOf(group, deployment.Id, now);
            state.InFlight.Remove(leaseId);
            state.Tokens += Math.Max(0, outcome.Tokens);
            if (outcome.LatencyMs is { } latency)
            {
                state.LatencyMs = state.LatencyMs is { } old ? old * (1 - LatencySmoothing) + latency * LatencySmoothing : latency;
            }

            long ofClass = 0;
            if (outcome.Succeeded)
            {
                state.Successes++;
            }
            else if (outcome.FailureClass is { } failureClass)
            {
                state.Failures++;
                ofClass = state.FailuresByClass[failureClass] = state.FailuresByClass.GetValueOrDefault(failureClass) + 1;
            }

            return Task.FromResult(new FailureCounts(state.Successes, state.Failures, ofClass));
        }
    }

    public Task<bool> StartCooldownAsync(string group, string deploymentId, TimeSpan duration, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            var state = StateOf(group, deploymentId, now);
            if (state.CooldownUntil is { } until && until > now)
            {
                return Task.FromResult(false);
            }

            state.CooldownUntil = now + duration;
            state.CooldownReason = reason;
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<ActiveCooldown>> ListCooldownsAsync(
        IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var now = timeProvider.GetUtcNow();
        var list = new List<ActiveCooldown>();
        lock (_gate)
        {
            foreach (var (group, id) in deployments)
            {
                if (_states.TryGetValue((group, id), out var state) && state.CooldownUntil is { } until && until > now)
                {
                    list.Add(new ActiveCooldown(group, id, (until - now).TotalSeconds, state.CooldownReason ?? ""));
                }
            }
        }

        return Task.FromResult<IReadOnlyList<ActiveCooldown>>(list);
    }

    private State StateOf(string group, string deploymentId, DateTimeOffset now)
    {
        if (!_states.TryGetValue((group, deploymentId), out var state))
        {
            state = new State();
            _states[(group, deploymentId)] = state;
        }

        var minute = MinuteOf(now);
        if (state.Minute != minute)
        {
            state.Minute = minute;
            state.Requests = 0;
            state.Tokens = 0;
            state.Successes = 0;
            state.Failures = 0;
            state.FailuresByClass.Clear();
        }

        RemoveExpired(state.InFlight, now.ToUnixTimeMilliseconds());
        return state;
    }

    /// <summary>The fixed one-minute window rpm, tpm and failures are counted in (minutes since the Unix epoch).</summary>
    public static long MinuteOf(DateTimeOffset time) => time.ToUnixTimeSeconds() / 60;

    private static void RemoveExpired(Dictionary<string, long> leases, long nowMs)
    {
        if (leases.Count == 0)
        {
            return;
        }

        foreach (var (id, expires) in leases)
        {
            if (expires <= nowMs)
            {
                leases.Remove(id);
            }
        }
    }

    private sealed class State
    {
        public Dictionary<string, long> InFlight { get; } = [];

        public long Minute { get; set; } = -1;

        public long Requests { get; set; }

        public long Tokens { get; set; }

        public long Successes { get; set; }

        public long Failures { get; set; }

        public Dictionary<ProviderErrorClass, long> FailuresByClass { get; } = [];

        public double? LatencyMs { get; set; }

        public DateTimeOffset? CooldownUntil { get; set; }

        public string? CooldownReason { get; set; }
    }
}

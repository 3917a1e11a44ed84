using System.Globalization;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Contracts.Routing;
using Broker.ServiceDefaults.Health;
using Broker.Workers.Providers;
using Broker.Workers.RateLimits;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Routing;

/// <summary>
/// Chooses a deployment for a request with the configured strategy among those that are not cooling down and are
/// under their limits (max_parallel_requests, rpm, tpm, global_max_parallel_requests — held across all workers
/// through <see cref="IRoutingStore"/>), and takes a slot on it. When every deployment is at a limit the request
/// waits (backing off up to half a second, never past its deadline), unless
/// disable_retry_on_max_parallel_request_limit_error asks for a 429 at once. When every deployment is cooling down it
/// fails at once with 429, as LiteLLM does. Deployments that failed their last background health check are skipped
/// while a healthy one is free (all unhealthy: they are tried anyway). A retry names the deployments that already failed it; others are preferred. <see cref="ReleaseAsync"/> gives the slot back, records usage, latency
/// and failures, and starts cooldowns.
/// </summary>
public sealed class DeploymentRouter(
    IProxyConfigProvider config,
    DeploymentSelector selector,
    IRoutingStore state,
    DeploymentHealthBoard health,
    TimeProvider timeProvider,
    ILogger<DeploymentRouter> logger)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    public async Task<RouteResult> AcquireAsync(
        ModelGroup group, string? pinnedDeploymentId, Guid requestId, DateTimeOffset deadline, CancellationToken cancellationToken,
        IReadOnlyCollection<string>? avoidDeploymentIds = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (pinnedDeploymentId is not null)
        {
            var pinned = group.Deployments.FirstOrDefault(d => d.Id == pinnedDeploymentId);
            return pinned is null
                ? new RouteResult(null, new ProviderError(ProviderErrorClass.NotFound, 404,
                    $"No deployment '{pinnedDeploymentId}' in model group '{group.Name}'", "model_not_found"))
                : new RouteResult(RoutingLease.Untracked(group.Name, pinned), null);
        }

        var current = config.Current;
        var strategy = current.RouterSettings.RoutingStrategy;
        var cooldowns = new CooldownPolicy(current.RouterSettings);
        var general = current.GeneralSettings;
        var globalLimit = general.GlobalMaxParallelRequests is > 0 ? general.GlobalMaxParallelRequests : null;
        var leaseId = requestId.ToString("N");
        var expires = deadline + TimeSpan.FromSeconds(5);
        var backoff = FirstBackoff;
        var waited = false;
        RouteResult CoolingDown(int count, TimeSpan soonest)
        {
            var retryAfter = Math.Ceiling(soonest.TotalSeconds);
            var message = $"No deployments available for model group '{group.Name}': all {count} are cooling down after failures. " +
                          $"Try again in {retryAfter.ToString(CultureInfo.InvariantCulture)} seconds.";
            Log.Refused(logger, requestId, group.Name, "all deployments cooling down");
            return new RouteResult(null, new ProviderError(ProviderErrorClass.RateLimit, 429, message, "no_deployments_available", retryAfter));
        }

        // the group's loads, then a slot on the deployment the strategy picks; null with whether the gateway's own
        // limit was what stood in the way when nothing was free
        async Task<(RouteResult? Routed, bool GlobalFull)> TryAcquireAnyAsync()
        {
            var loads = await state.ReadAsync(group, cancellationToken);
            if (!cooldowns.Disabled && loads.Count > 0 && loads.All(l => l.IsCoolingDown))
            {
                return (CoolingDown(loads.Count, loads.Min(l => l.CooldownRemaining!.Value)), false);
            }

            var candidates = loads
                .Where(l => cooldowns.Disabled || !l.IsCoolingDown)
                .Where(l => DeploymentLimits.For(l.Deployment, general).Admits(l))
                .ToList();
            if (candidates.Any(c => health.IsUnhealthy(group.Name, c.Deployment.Id)) &&
                loads.Any(l => (cooldowns.Disabled || !l.IsCoolingDown) && !health.IsUnhealthy(group.Name, l.Deployment.Id)))
            {
                // failed its last background health check: like a cooldown, unless nothing healthy is left to try
                candidates.RemoveAll(c => health.IsUnhealthy(group.Name, c.Deployment.Id));
            }

            if (avoidDeploymentIds is { Count: > 0 } && candidates.Any(c => !avoidDeploymentIds.Contains(c.Deployment.Id)))
            {
                // a retry: deployments that already failed this request only when nothing else is free
                candidates.RemoveAll(c => avoidDeploymentIds.Contains(c.Deployment.Id));
            }

            while (candidates.Count > 0)
            {
                if (globalLimit is { } limit && !await state.TryAcquireGlobalAsync(limit, leaseId, expires, cancellationToken))
                {
                    return (null, true);
                }

                var pick = selector.Select(candidates, strategy)!;
                var outcome = await state.TryAcquireAsync(group.Name, pick, DeploymentLimits.For(pick, general), leaseId, expires, cancellationToken);
                if (outcome == AcquireOutcome.Acquired)
                {
                    return (new RouteResult(new RoutingLease(group.Name, pick, leaseId, globalLimit is not null, true), null), false);
                }

                if (globalLimit is not null)
                {
                    await state.ReleaseGlobalAsync(leaseId, CancellationToken.None);
                }

                candidates.RemoveAll(c => c.Deployment.Id == pick.Id);
            }

            return (null, false);
        }

        while (true)
        {
            var globalFull = false;
            if (group.Deployments.Count == 1 && globalLimit is null)
            {
                // one deployment: nothing to choose, and health or a retry's avoid list never rules out the only one, so
                // its cooldown and a slot are decided in one step (one Redis round trip instead of two)
                var sole = group.Deployments[0];
                var answer = await state.TryAcquireSoleAsync(group, DeploymentLimits.For(sole, general), leaseId, expires, !cooldowns.Disabled, cancellationToken);
                if (answer.Outcome == AcquireOutcome.CoolingDown)
                {
                    return CoolingDown(1, answer.CooldownRemaining!.Value);
                }

                if (answer.Outcome == AcquireOutcome.Acquired)
                {
                    return new RouteResult(new RoutingLease(group.Name, sole, leaseId, false, true), null);
                }
            }
            else
            {
                (var routed, globalFull) = await TryAcquireAnyAsync();
                if (routed is not null)
                {
                    return routed;
                }
            }

            var what = globalFull
                ? $"the gateway is at global_max_parallel_requests ({globalLimit})"
                : $"every deployment of model group '{group.Name}' is at its max_parallel_requests, rpm or tpm limit";
            if (general.DisableRetryOnMaxParallelRequestLimitError)
            {
                Log.Refused(logger, requestId, group.Name, what);
                return new RouteResult(null, new ProviderError(ProviderErrorClass.RateLimit, 429, $"Rate limit reached: {what}.", "rate_limit_exceeded", 1));
            }

            var jitter = TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(backoff.TotalMilliseconds / 2) + 1));
            if (timeProvider.GetUtcNow() + backoff + jitter >= deadline)
            {
                Log.Refused(logger, requestId, group.Name, what + " until the request's deadline");
                return new RouteResult(null, new ProviderError(ProviderErrorClass.RateLimit, 429,
                    $"Rate limit reached: {what}, and no slot freed before the request timed out.", "rate_limit_exceeded", 1));
            }

            if (!waited)
            {
                Log.Waiting(logger, requestId, group.Name);
                waited = true;
            }

            await Task.Delay(backoff + jitter, timeProvider, cancellationToken);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>
    /// Gives a lease back and records how the request went; starts a cooldown when the failure tips the deployment
    /// over its allowance, and then answers the <see cref="DeploymentCooledDown"/> event to publish (null otherwise:
    /// only the worker whose failure started the cooldown gets it).
    /// </summary>
    public async Task<DeploymentCooledDown?> ReleaseAsync(RoutingLease lease, TokenUsage? usage, double? latencyMs, ProviderError? error, bool abandoned = false)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!lease.Tracked)
        {
            return null;
        }

        var current = config.Current;
        var cooldowns = new CooldownPolicy(current.RouterSettings);
        var failureClass = abandoned ? null : cooldowns.CountedClass(error);
        var outcome = abandoned
            ? RequestOutcome.Abandoned with { Tokens = (usage?.PromptTokens ?? 0) + (usage?.CompletionTokens ?? 0) }
            : new RequestOutcome((usage?.PromptTokens ?? 0) + (usage?.CompletionTokens ?? 0), error is null ? latencyMs : null, failureClass, error is null);
        if (lease.HoldsGlobalSlot)
        {
            await state.ReleaseGlobalAsync(lease.LeaseId, CancellationToken.None);
        }

        var counts = await state.ReleaseAsync(lease.ModelGroup, lease.Deployment, lease.LeaseId, outcome, CancellationToken.None);
        if (error is null || failureClass is not { } counted)
        {
            return null;
        }

        var deploymentsInGroup = current.ModelGroups.FirstOrDefault(g => g.Name == lease.ModelGroup)?.Deployments.Count ?? 1;
        if (!cooldowns.ShouldCoolDown(error, counts, deploymentsInGroup))
        {
            return null;
        }

        var duration = cooldowns.CooldownTime;
        var reason = $"{failureClass} {error.StatusCode}: {counts.Failures} failures this minute";
        if (!await state.StartCooldownAsync(lease.ModelGroup, lease.Deployment.Id, duration, reason, CancellationToken.None))
        {
            return null;
        }

        Log.CooledDown(logger, lease.ModelGroup, lease.Deployment.Id, duration.TotalSeconds, counts.Failures, counted, error.StatusCode);
        return new DeploymentCooledDown
        {
            ModelGroup = lease.ModelGroup,
            DeploymentId = lease.Deployment.Id,
            ErrorClass = counted,
            StatusCode = error.StatusCode,
            FailuresThisMinute = (int)Math.Min(int.MaxValue, counts.Failures),
            CooldownSeconds = duration.TotalSeconds,
            Until = timeProvider.GetUtcNow() + duration,
        };
    }
}

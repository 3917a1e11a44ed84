using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Ingress.Caching;

/// <summary>
/// Readiness of the response cache ("cache" in <c>/health/readiness</c>): healthy when off, in memory or its backend
/// answers; degraded (requests still served, every lookup a miss) while its backend does not.
/// </summary>
public sealed class CacheHealthCheck(ResponseCache cache) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (cache.Store is not { } store)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no response cache configured"));
        }

        return Task.FromResult(store.IsAvailable
            ? HealthCheckResult.Healthy(store.Name + " answers")
            : HealthCheckResult.Degraded(store.Name + " does not answer: every lookup is a miss until it does"));
    }
}

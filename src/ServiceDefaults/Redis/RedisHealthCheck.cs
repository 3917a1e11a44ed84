using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.ServiceDefaults.Redis;

/// <summary>
/// Readiness of the shared routing state: healthy when Redis answers or none is configured; degraded (still
/// serving, limits per process) while a configured Redis does not answer.
/// </summary>
public sealed class RedisHealthCheck(BrokerRedis redis) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!redis.IsConfigured)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no Redis configured: routing state is per process"));
        }

        return Task.FromResult(redis.Available() is null
            ? HealthCheckResult.Degraded("Redis does not answer: routing state is per process until it does")
            : HealthCheckResult.Healthy("Redis answers"));
    }
}

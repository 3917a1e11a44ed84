using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.ServiceDefaults.Reload;

/// <summary>Degraded while config.yaml on disk is invalid and the version loaded before it is in force.</summary>
public sealed class ConfigHealthCheck(ConfigReloader reloader) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reloader);
        if (reloader.Stale is not { } stale)
        {
            return Task.FromResult(HealthCheckResult.Healthy("config.yaml in force"));
        }

        var data = new Dictionary<string, object>
        {
            ["stale_since"] = stale.Since.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["errors"] = stale.Errors,
        };
        return Task.FromResult(HealthCheckResult.Degraded(
            $"stale: {reloader.Path} is invalid ({stale.Errors.Count} error(s)); the config loaded before stays in force", data: data));
    }
}

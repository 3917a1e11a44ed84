using Broker.Config;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// Readiness of the database: healthy when none is configured or it answers with the schema current; while it
/// does not answer, degraded with <c>allow_requests_on_db_unavailable</c> (keys already seen keep working), else unhealthy.
/// </summary>
public sealed class DatabaseHealthCheck(BrokerDatabase database, IProxyConfigProvider config) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (database.Kind == DatabaseKind.None)
        {
            return HealthCheckResult.Healthy("no database configured");
        }

        if (database.Kind == DatabaseKind.Sqlite)
        {
            return database.IsMigrated
                ? HealthCheckResult.Healthy("embedded SQLite store is current")
                : HealthCheckResult.Unhealthy("embedded SQLite store is not migrated yet");
        }

        var down = config.Current.GeneralSettings.AllowRequestsOnDbUnavailable ? HealthStatus.Degraded : HealthStatus.Unhealthy;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await using var command = database.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return new HealthCheckResult(down, $"database does not answer: {ex.GetType().Name}");
        }

        return database.IsMigrated
            ? HealthCheckResult.Healthy("database answers")
            : new HealthCheckResult(down, "database answers but the schema migrations have not run yet");
    }
}

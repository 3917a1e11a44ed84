using Broker.Billing.Budgets;
using Broker.Config;
using Broker.ServiceDefaults.Database;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Broker.Billing.Persistence;

/// <summary>Applies general_settings.maximum_spend_logs_retention_period every Billing:RetentionIntervalSeconds, on PostgreSQL or the embedded SQLite file.</summary>
public sealed class SpendRetentionService(
    SpendRetention retention,
    BrokerDatabase database,
    IProxyConfigProvider config,
    IOptions<BillingOptions> options,
    TimeProvider timeProvider,
    ILogger<SpendRetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.HasStore || config.Current.GeneralSettings.MaximumSpendLogsRetentionPeriod is not { } period)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(Math.Max(0.1, options.Value.RetentionIntervalSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await database.WhenMigrated(stoppingToken);
                var now = timeProvider.GetUtcNow();
                if (BudgetDuration.NextReset(period, now) is not { } ahead)
                {
                    Log.BadRetention(logger, period);
                    return;
                }

                var cutoff = now - (ahead - now);
                var (deleted, chunks) = await retention.DeleteOlderThanAsync(cutoff, Math.Max(1, options.Value.RetentionChunkSize), stoppingToken);
                if (deleted > 0)
                {
                    Log.Retained(logger, deleted, cutoff, chunks);
                }

                await Task.Delay(interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or Microsoft.Data.Sqlite.SqliteException or TimeoutException or InvalidOperationException)
            {
                Log.RetentionDeferred(logger, ex.Message);
                await Task.Delay(interval, timeProvider, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}

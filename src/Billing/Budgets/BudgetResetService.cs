using Broker.Contracts.Billing;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Broker.Billing.Budgets;

/// <summary>Runs <see cref="BudgetResetter"/> every Billing:BudgetResetIntervalSeconds and tells every Ingress the new totals.</summary>
public sealed class BudgetResetService(
    BudgetResetter resetter,
    BrokerDatabase database,
    IBus bus,
    IOptions<BillingOptions> options,
    TimeProvider timeProvider,
    ILogger<BudgetResetService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.HasStore)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(Math.Max(0.1, options.Value.BudgetResetIntervalSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await database.WhenMigrated(stoppingToken);
                var changed = await resetter.ResetDueAsync(timeProvider.GetUtcNow(), stoppingToken);
                foreach (var group in changed.GroupBy(c => c.EntityType))
                {
                    Log.BudgetsReset(logger, group.Count(), group.Key);
                }

                if (changed.Count > 0)
                {
                    await bus.Publish(new SpendTotalsChanged
                    {
                        Totals = [.. changed.Select(c => new EntitySpend
                        {
                            EntityType = c.EntityType, EntityId = c.EntityId, Spend = c.Spend, BudgetResetAt = c.BudgetResetAt,
                        })],
                    }, stoppingToken);
                }

                await Task.Delay(interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or Microsoft.Data.Sqlite.SqliteException or TimeoutException or InvalidOperationException)
            {
                Log.ResetDeferred(logger, ex.Message);
                await Task.Delay(interval, timeProvider, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}

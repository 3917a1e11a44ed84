using System.Diagnostics;
using Broker.Billing.Budgets;
using Broker.Billing.Persistence;
using Broker.Config;
using Broker.Contracts.Billing;
using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Usage;

/// <summary>
/// Turns batches of usage events into spend rows and totals in PostgreSQL (<see cref="SpendWriter"/>), then tells every
/// Ingress the new totals (<see cref="SpendTotalsChanged"/>) and raises budget alerts. A batch that cannot be written
/// throws: its messages are not acknowledged and are retried until the database answers again. Without a database_url
/// usage is only counted in memory (<see cref="UsageLedger"/>).
/// </summary>
public sealed class UsageRecordedConsumer(
    UsageLedger ledger,
    SpendWriter writer,
    BrokerDatabase database,
    IProxyConfigProvider config,
    DatabaseAlerts databaseAlerts,
    TimeProvider timeProvider,
    ILogger<UsageRecordedConsumer> logger) : IConsumer<Batch<UsageRecorded>>
{
    private static readonly TimeSpan SchemaWait = TimeSpan.FromSeconds(10);

    public async Task Consume(ConsumeContext<Batch<UsageRecorded>> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var events = context.Message.Select(m => m.Message).ToList();
        if (!database.IsConfigured)
        {
            Count(events);
            Log.NoDatabase(logger, events.Count);
            return;
        }

        var settings = config.Current.GeneralSettings;
        var started = Stopwatch.GetTimestamp();
        SpendWriteResult result;
        try
        {
            // the schema is created by the migrator, which retries in the background while the database is down
            await database.WhenMigrated(context.CancellationToken).WaitAsync(SchemaWait, context.CancellationToken);
            result = await writer.WriteAsync(events, settings.DisableSpendLogs, context.CancellationToken);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            Log.SpendWriteFailed(logger, events.Count, ex.Message);
            await databaseAlerts.RaiseAsync(context, ex, events.Count);
            throw;
        }

        Count(events);
        Log.SpendWritten(logger, result.Received, result.Inserted, result.Totals.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        if (result.Totals.Count == 0)
        {
            return;
        }

        var shared = result.Totals.Where(t => t.EntityType is "key" or "user" or "team" or "end_user" or "proxy").Select(t => new EntitySpend
        {
            EntityType = t.EntityType,
            EntityId = t.EntityId,
            Spend = t.Spend,
            BudgetResetAt = t.BudgetResetAt,
        }).ToList();
        if (shared.Count > 0)
        {
            await context.Publish(new SpendTotalsChanged { Totals = shared }, CancellationToken.None);
        }

        foreach (var alert in BudgetAlerts.For(result.Totals, config.Current, timeProvider.GetUtcNow()))
        {
            await context.Publish(alert, CancellationToken.None);
        }
    }

    private void Count(List<UsageRecorded> events)
    {
        foreach (var usage in events)
        {
            ledger.Add(usage);
            Log.UsageRecorded(logger, usage.RequestId, usage.ModelGroup, usage.DeploymentId, usage.Provider,
                usage.PromptTokens, usage.CompletionTokens, usage.LatencyMs, usage.Succeeded);
        }
    }
}

using System.Diagnostics;
using Broker.Billing.Alerts;
using Broker.Billing.Budgets;
using Broker.Billing.History;
using Broker.Billing.Persistence;
using Broker.Config;
using Broker.Contracts.Billing;
using Broker.Contracts.Inference;
using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Usage;

/// <summary>
/// Turns batches of usage events into spend rows and totals in PostgreSQL (<see cref="SpendWriter"/>), then tells every
/// Ingress the new totals (<see cref="SpendTotalsChanged"/>) and raises budget alerts. A batch the database cannot take
/// right now throws: its messages are not acknowledged and are retried until the database answers again. A batch the
/// database refuses as data is written event by event, and the events it still refuses go to the error queue with a
/// <c>failed_tracking_spend</c> alert, so one bad event never holds back the others. Without a database_url
/// usage is only counted in memory (<see cref="UsageLedger"/>). The attempt an event carries (<see cref="UsageRecorded.Attempt"/>)
/// goes to the attempt history after the spend (<see cref="StoreAttemptsAsync"/>).
/// </summary>
public sealed class UsageRecordedConsumer(
    UsageLedger ledger,
    ISpendWriter writer,
    IRequestAttemptStore attempts,
    BrokerDatabase database,
    IProxyConfigProvider config,
    DatabaseAlerts databaseAlerts,
    DeadLetterAlerts deadLetterAlerts,
    TimeProvider timeProvider,
    ILogger<UsageRecordedConsumer> logger) : IConsumer<Batch<UsageRecorded>>
{
    private static readonly TimeSpan SchemaWait = TimeSpan.FromSeconds(10);

    public async Task Consume(ConsumeContext<Batch<UsageRecorded>> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var events = context.Message.Select(m => m.Message).ToList();
        if (!database.HasStore)
        {
            Count(events);
            Log.NoDatabase(logger, events.Count);
            await StoreAttemptsAsync(events, context.CancellationToken);
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
        catch (Exception ex) when (DatabaseErrors.IsTransient(ex))
        {
            Log.SpendWriteFailed(logger, events.Count, ex.Message);
            await databaseAlerts.RaiseAsync(context, ex, events.Count);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // the database refused the data itself: one bad event must not hold back the others, so each is written on
            // its own and those it still refuses go to the error queue
            Log.SpendBatchRefused(logger, events.Count, ex.Message);
            (result, events) = await WriteEachAsync(context, settings.DisableSpendLogs);
        }

        Count(events);
        Log.SpendWritten(logger, result.Received, result.Inserted, result.Totals.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        await PublishTotalsAsync(context, result);
        // last: a store that is down fails the batch after the totals went out
        await StoreAttemptsAsync(events, context.CancellationToken);
    }

    /// <summary>Tells every Ingress the new totals (<see cref="SpendTotalsChanged"/>) and raises budget alerts.</summary>
    private async Task PublishTotalsAsync(ConsumeContext context, SpendWriteResult result)
    {
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

    /// <summary>
    /// Writes the batch's events one transaction each (a redelivered one adds nothing); an event the database refuses
    /// for a reason that is not transient is forwarded to <c>billing.usage-recorded_error</c>, logged and alerted on.
    /// A transient failure still fails the whole batch, which is retried.
    /// </summary>
    private async Task<(SpendWriteResult Result, List<UsageRecorded> Written)> WriteEachAsync(ConsumeContext<Batch<UsageRecorded>> context, bool disableSpendLogs)
    {
        var written = new List<UsageRecorded>();
        var inserted = 0;
        var totals = new Dictionary<(string Type, string Id), EntityTotal>();
        foreach (var message in context.Message)
        {
            SpendWriteResult one;
            try
            {
                one = await writer.WriteAsync([message.Message], disableSpendLogs, context.CancellationToken);
            }
            catch (Exception ex) when (!DatabaseErrors.IsTransient(ex) && ex is not OperationCanceledException)
            {
                await DeadLetterAsync(message, ex);
                continue;
            }

            written.Add(message.Message);
            inserted += one.Inserted;
            foreach (var total in one.Totals)
            {
                // the latest total of an entity, with what all of this batch's events added to it
                totals[(total.EntityType, total.EntityId)] = totals.TryGetValue((total.EntityType, total.EntityId), out var earlier)
                    ? total with { Delta = earlier.Delta + total.Delta }
                    : total;
            }
        }

        return (new SpendWriteResult(context.Message.Length, inserted, [.. totals.Values]), written);
    }

    private async Task DeadLetterAsync(ConsumeContext<UsageRecorded> message, Exception error)
    {
        var queue = DeadLetterFilter.QueueOf(message.ReceiveContext.InputAddress);
        var letter = new DeadLetter(queue, message.MessageId?.ToString(), MessageUrn.ForTypeString<UsageRecorded>(),
            $"{error.GetType().Name}: {error.Message}");
        var reason = letter.Reason;
        await message.Forward(new Uri($"queue:{DeadLetter.ErrorQueueOf(queue)}"), Pipe.Execute<SendContext<UsageRecorded>>(send =>
        {
            // the headers MassTransit's own error transport sets, so tools that read _error queues see the same
            send.Headers.Set("MT-Reason", "fault");
            send.Headers.Set("MT-Fault-ExceptionType", error.GetType().FullName);
            send.Headers.Set("MT-Fault-Message", error.Message);
            send.Headers.Set("MT-Fault-Timestamp", timeProvider.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            send.Headers.Set("MT-Fault-InputAddress", message.ReceiveContext.InputAddress.ToString());
            send.Headers.Set("MT-Fault-ConsumerType", typeof(UsageRecordedConsumer).FullName);
        }));
        Log.SpendEventDeadLettered(logger, message.Message.RequestId, letter.MessageId, DeadLetter.ErrorQueueOf(queue), reason);
        await deadLetterAlerts.HandleAsync(letter, CancellationToken.None);
    }

    /// <summary>
    /// Stores the attempts the events carry, as <see cref="InferenceAttemptedConsumer"/> stores those sent on their own.
    /// After the spend: a store that is down throws, the batch is redelivered, and its spend (written already) is not
    /// added twice. A store that refuses the rows themselves loses only this history, never the batch's spend.
    /// </summary>
    private async Task StoreAttemptsAsync(List<UsageRecorded> events, CancellationToken cancellationToken)
    {
        if (!attempts.IsConfigured)
        {
            return;
        }

        var carried = events.Select(e => e.Attempt).OfType<InferenceAttempted>().ToList();
        if (carried.Count == 0)
        {
            return;
        }

        try
        {
            await attempts.AddAsync(carried, cancellationToken);
        }
        catch (Exception ex) when (!DatabaseErrors.IsTransient(ex) && ex is not OperationCanceledException)
        {
            Log.AttemptsRefused(logger, carried.Count, ex.Message);
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

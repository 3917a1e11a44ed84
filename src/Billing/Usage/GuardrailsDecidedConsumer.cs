using Broker.Billing.Persistence;
using Broker.Config;
using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Usage;

/// <summary>
/// Keeps the during_call and post_call guardrail decisions the Ingress publishes after it checked an answer, beside the
/// request's spend log row (<see cref="ISpendWriter.AddGuardrailsAsync"/>): the row may not be written yet (usage is
/// batched too), so they are kept on their own and read with it, and a redelivered event adds nothing. Without a store,
/// or with disable_spend_logs, there is no row to show them: they are dropped (the metrics still count them). A store
/// that is down throws, so the batch stays in the durable queue and is retried.
/// </summary>
public sealed class GuardrailsDecidedConsumer(
    ISpendWriter writer, BrokerDatabase database, IProxyConfigProvider config, ILogger<GuardrailsDecidedConsumer> logger)
    : IConsumer<Batch<GuardrailsDecided>>
{
    private static readonly TimeSpan SchemaWait = TimeSpan.FromSeconds(10);

    public async Task Consume(ConsumeContext<Batch<GuardrailsDecided>> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!database.HasStore || config.Current.GeneralSettings.DisableSpendLogs)
        {
            return;
        }

        var events = context.Message.Select(m => m.Message).ToList();
        await database.WhenMigrated(context.CancellationToken).WaitAsync(SchemaWait, context.CancellationToken);
        var inserted = await writer.AddGuardrailsAsync(events, context.CancellationToken);
        Log.GuardrailsKept(logger, events.Count, inserted);
    }
}

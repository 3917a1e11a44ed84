using Broker.Contracts.Usage;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Usage;

/// <summary>Receives every finished request's usage. Spend storage in PostgreSQL comes later; for now it is logged.</summary>
public sealed class UsageRecordedConsumer(UsageLedger ledger, ILogger<UsageRecordedConsumer> logger) : IConsumer<UsageRecorded>
{
    public Task Consume(ConsumeContext<UsageRecorded> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var usage = context.Message;
        ledger.Add(usage);
        Log.UsageRecorded(logger, usage.RequestId, usage.ModelGroup, usage.DeploymentId, usage.Provider,
            usage.PromptTokens, usage.CompletionTokens, usage.LatencyMs, usage.Succeeded);
        return Task.CompletedTask;
    }
}

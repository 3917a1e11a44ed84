using Broker.Contracts.Inference;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.History;

/// <summary>
/// Stores attempt events in batches (<see cref="IRequestAttemptStore"/>). Without a store they are dropped: there is no
/// history to read then. A store that is down throws, so the batch stays in the durable queue and is retried.
/// </summary>
public sealed class InferenceAttemptedConsumer(IRequestAttemptStore store, ILogger<InferenceAttemptedConsumer> logger)
    : IConsumer<Batch<InferenceAttempted>>
{
    public async Task Consume(ConsumeContext<Batch<InferenceAttempted>> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!store.IsConfigured)
        {
            return;
        }

        var attempts = context.Message.Select(m => m.Message).ToList();
        await store.AddAsync(attempts, context.CancellationToken);
        Log.AttemptsStored(logger, attempts.Count);
    }
}

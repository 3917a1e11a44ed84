using Broker.ServiceDefaults.Database;
using MassTransit;

namespace Broker.Billing.History;

/// <summary>
/// Attempt events in batches of up to <see cref="MessageLimit"/> or what arrived within half a second; a database that is
/// down is retried (up to 5 s apart) for about an hour, like the spend writes, then the error queue.
/// </summary>
public sealed class InferenceAttemptedConsumerDefinition : ConsumerDefinition<InferenceAttemptedConsumer>
{
    public const string QueueName = "billing.inference-attempted";
    public const int MessageLimit = 500;

    public InferenceAttemptedConsumerDefinition() => EndpointName = QueueName;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<InferenceAttemptedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        ArgumentNullException.ThrowIfNull(consumerConfigurator);
        var batchSize = BatchEndpointLimits.For(endpointConfigurator, MessageLimit);
        BatchEndpointLimits.Apply(endpointConfigurator, batchSize);
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<Exception>(DatabaseErrors.IsTransient);
            r.Exponential(720, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(300));
        });
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<OperationCanceledException>();
            r.Ignore<Exception>(DatabaseErrors.IsTransient);
            r.Intervals(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        });
        consumerConfigurator.Options<BatchOptions>(o => o
            .SetMessageLimit(batchSize)
            .SetTimeLimit(TimeSpan.FromMilliseconds(500))
            .SetConcurrencyLimit(1));
    }
}

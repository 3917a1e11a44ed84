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
        BatchEndpointLimits.Configure(endpointConfigurator, consumerConfigurator, MessageLimit, TimeSpan.FromMilliseconds(500));
    }
}

using MassTransit;

namespace Broker.Billing.Callbacks;

public sealed class UsageCallbacksConsumerDefinition : ConsumerDefinition<UsageCallbacksConsumer>
{
    public const string QueueName = "billing.callbacks";

    public UsageCallbacksConsumerDefinition()
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = 16;
    }
}

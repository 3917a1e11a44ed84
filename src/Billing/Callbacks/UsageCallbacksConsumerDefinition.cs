using MassTransit;

namespace Broker.Billing.Callbacks;

public sealed class UsageCallbacksConsumerDefinition : ConsumerDefinition<UsageCallbacksConsumer>
{
    public UsageCallbacksConsumerDefinition()
    {
        EndpointName = "billing.callbacks";
        ConcurrentMessageLimit = 16;
    }
}

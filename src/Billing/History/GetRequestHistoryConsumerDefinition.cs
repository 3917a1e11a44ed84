using MassTransit;

namespace Broker.Billing.History;

/// <summary>History reads: a queue of their own, so they never wait behind spend writes.</summary>
public sealed class GetRequestHistoryConsumerDefinition : ConsumerDefinition<GetRequestHistoryConsumer>
{
    public const string QueueName = "billing.get-request-history";

    public GetRequestHistoryConsumerDefinition()
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = 16;
    }
}

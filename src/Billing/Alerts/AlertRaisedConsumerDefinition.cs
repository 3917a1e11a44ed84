using MassTransit;

namespace Broker.Billing.Alerts;

/// <summary>Alerts have their own queue: delivery (and its retries) never shares a consumer with spend writes.</summary>
public sealed class AlertRaisedConsumerDefinition : ConsumerDefinition<AlertRaisedConsumer>
{
    public const string QueueName = "billing.alerts";

    public AlertRaisedConsumerDefinition()
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = 8;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<AlertRaisedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        // each channel already retried with backoff (DeliveryRetry); this is the slow outer try for a receiver that is down
        endpointConfigurator.UseMessageRetry(r => r.Intervals(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10)));
    }
}

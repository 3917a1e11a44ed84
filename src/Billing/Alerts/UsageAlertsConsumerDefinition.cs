using MassTransit;

namespace Broker.Billing.Alerts;

public sealed class UsageAlertsConsumerDefinition : ConsumerDefinition<UsageAlertsConsumer>
{
    public const string QueueName = "billing.usage-alerts";

    public UsageAlertsConsumerDefinition()
    {
        EndpointName = QueueName;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<UsageAlertsConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 1000, 5000));
    }
}

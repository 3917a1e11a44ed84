using MassTransit;

namespace Broker.Billing.Alerts;

public sealed class UsageAlertsConsumerDefinition : ConsumerDefinition<UsageAlertsConsumer>
{
    public UsageAlertsConsumerDefinition()
    {
        EndpointName = "billing.usage-alerts";
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

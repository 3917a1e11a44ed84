using MassTransit;

namespace Broker.Billing.Alerts;

public sealed class CooldownAlertsConsumerDefinition : ConsumerDefinition<CooldownAlertsConsumer>
{
    public CooldownAlertsConsumerDefinition()
    {
        EndpointName = "billing.cooldown-alerts";
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<CooldownAlertsConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 1000, 5000));
    }
}

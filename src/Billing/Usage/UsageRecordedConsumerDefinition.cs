using MassTransit;

namespace Broker.Billing.Usage;

public sealed class UsageRecordedConsumerDefinition : ConsumerDefinition<UsageRecordedConsumer>
{
    public UsageRecordedConsumerDefinition()
    {
        EndpointName = "billing.usage-recorded";
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<UsageRecordedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 500, 2000));
    }
}

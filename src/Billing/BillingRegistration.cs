using Broker.Billing.Alerts;
using Broker.Billing.Callbacks;
using Broker.Billing.Usage;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.Billing;

public static class BillingRegistration
{
    /// <summary>The Billing role: consumes usage events. Call before <c>AddBrokerBus</c>.</summary>
    public static IHostApplicationBuilder AddBilling(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<UsageLedger>();
        builder.AddBusContribution(new BillingBusContribution());
        builder.AddAlerting();
        builder.AddCallbacks();
        return builder;
    }

    private sealed class BillingBusContribution : IBusContribution
    {
        public void AddConsumers(IBusRegistrationConfigurator configurator) =>
            configurator.AddConsumer<UsageRecordedConsumer, UsageRecordedConsumerDefinition>();

        public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
        {
        }
    }
}

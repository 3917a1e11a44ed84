using Broker.Contracts.History;
using Broker.ServiceDefaults.Bus;
using MassTransit;

namespace Broker.Ingress.Features.Requests;

/// <summary>The request client for Billing's attempt history (<see cref="GetRequestHistory"/>, published: whichever Billing instance takes it answers).</summary>
internal sealed class RequestHistoryBusContribution : IBusContribution
{
    public void AddConsumers(IBusRegistrationConfigurator configurator) =>
        configurator.AddRequestClient<GetRequestHistory>(RequestHistoryEndpoints.BillingTimeout);

    public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
    {
    }
}

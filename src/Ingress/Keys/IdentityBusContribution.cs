using Broker.Contracts.Billing;
using Broker.Contracts.Identity;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Ingress.Keys;

/// <summary>
/// Every Ingress instance's own temporary queue for <see cref="IdentityChanged"/> (drop cached keys, users, teams) and
/// Billing's <see cref="SpendTotalsChanged"/> (update cached spend): each instance gets every event.
/// </summary>
internal sealed class IdentityBusContribution : IBusContribution
{
    public void AddConsumers(IBusRegistrationConfigurator configurator)
    {
    }

    public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
    {
        configurator.ReceiveEndpoint(new TemporaryEndpointDefinition("ingress-identity"), endpoint =>
        {
            endpoint.Handler<IdentityChanged>(message => context.GetRequiredService<IdentityChanges>().ApplyAsync(message.Message));
            endpoint.Handler<SpendTotalsChanged>(message => context.GetRequiredService<IdentityCache>().ApplySpendAsync(message.Message.Totals));
        });
    }
}

using MassTransit;

namespace Broker.ServiceDefaults.Bus;

public static class DeadLetterConfiguration
{
    /// <summary>
    /// A message that fails all its retries is logged and handed to the <see cref="IDeadLetterHandler"/>s, then moved
    /// to <c>&lt;queue&gt;_error</c> with MassTransit's Fault event as usual. AddBrokerBus applies it to every
    /// endpoint configured by ConfigureEndpoints; a role calls it on the endpoints it configures itself.
    /// </summary>
    public static void UseBrokerDeadLetters(this IReceiveEndpointConfigurator endpoint, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(services);
        endpoint.ConfigureError(x => x.UseFilter(new DeadLetterFilter(services)));
        // a configured error pipe replaces MassTransit's default one: add its two steps back after ours
        endpoint.ConfigureDefaultErrorTransport();
    }
}

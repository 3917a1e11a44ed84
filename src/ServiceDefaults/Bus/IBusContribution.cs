using MassTransit;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// What one role adds to the single MassTransit bus of a process: its consumers, and receive endpoints it
/// configures itself (such as one queue per model group).
/// </summary>
public interface IBusContribution
{
    void AddConsumers(IBusRegistrationConfigurator configurator);

    void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator);
}

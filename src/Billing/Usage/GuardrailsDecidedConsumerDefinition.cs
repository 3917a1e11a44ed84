using MassTransit;

namespace Broker.Billing.Usage;

/// <summary>
/// Guardrail decisions in batches of up to <see cref="MessageLimit"/> or what arrived within half a second; a database
/// that is down is retried (up to 5 s apart) for about an hour, like the spend writes, anything else a few times, then
/// <c>billing.guardrails-decided_error</c>.
/// </summary>
public sealed class GuardrailsDecidedConsumerDefinition : ConsumerDefinition<GuardrailsDecidedConsumer>
{
    public const string QueueName = "billing.guardrails-decided";
    public const int MessageLimit = 500;

    public GuardrailsDecidedConsumerDefinition() => EndpointName = QueueName;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<GuardrailsDecidedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        BatchEndpointLimits.Configure(endpointConfigurator, consumerConfigurator, MessageLimit, TimeSpan.FromMilliseconds(500));
    }
}

using Broker.ServiceDefaults.Database;
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
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        ArgumentNullException.ThrowIfNull(consumerConfigurator);
        var batchSize = BatchEndpointLimits.For(endpointConfigurator, MessageLimit);
        BatchEndpointLimits.Apply(endpointConfigurator, batchSize);
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<Exception>(DatabaseErrors.IsTransient);
            r.Exponential(UsageRecordedConsumerDefinition.TransientRetryLimit, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(300));
        });
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<OperationCanceledException>();
            r.Ignore<Exception>(DatabaseErrors.IsTransient);
            r.Intervals(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        });
        consumerConfigurator.Options<BatchOptions>(o => o
            .SetMessageLimit(batchSize)
            .SetTimeLimit(TimeSpan.FromMilliseconds(500))
            .SetConcurrencyLimit(1));
    }
}

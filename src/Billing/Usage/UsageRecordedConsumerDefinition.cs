using Broker.Config;
using Broker.ServiceDefaults.Database;
using MassTransit;

namespace Broker.Billing.Usage;

/// <summary>
/// Batches of up to <see cref="MessageLimit"/> usage events, or what arrived within general_settings.proxy_batch_write_at
/// (1 s by default), one batch at a time per process. A batch the database cannot take right now (down, restarting,
/// timing out: <see cref="DatabaseErrors.IsTransient"/>) is retried with backoff (up to 5 s apart) for at least
/// <see cref="TransientRetryLimit"/> tries (about an hour): its messages stay unacknowledged in the durable queue (and
/// go back to it if the process stops). Events the database refuses as data are set aside by the consumer one by one;
/// anything else fails the batch after three more tries. A message that gives up goes to
/// <c>billing.usage-recorded_error</c> with a <c>failed_tracking_spend</c> alert; <c>broker replay-errors</c> brings it back.
/// </summary>
public sealed class UsageRecordedConsumerDefinition : ConsumerDefinition<UsageRecordedConsumer>
{
    public const string QueueName = "billing.usage-recorded";
    public const int MessageLimit = 500;
    public const int TransientRetryLimit = BatchEndpointLimits.TransientRetryLimit;
    private readonly TimeSpan _timeLimit;

    public UsageRecordedConsumerDefinition(IProxyConfigProvider config)
    {
        ArgumentNullException.ThrowIfNull(config);
        EndpointName = QueueName;
        _timeLimit = config.Current.GeneralSettings.ProxyBatchWriteAt is { } at && at > TimeSpan.Zero ? at : TimeSpan.FromSeconds(1);
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<UsageRecordedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        BatchEndpointLimits.Configure(endpointConfigurator, consumerConfigurator, MessageLimit, _timeLimit);
    }
}

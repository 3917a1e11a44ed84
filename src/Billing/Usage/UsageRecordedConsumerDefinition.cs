using Broker.Config;
using MassTransit;
using Npgsql;

namespace Broker.Billing.Usage;

/// <summary>
/// Batches of up to <see cref="MessageLimit"/> usage events, or what arrived within general_settings.proxy_batch_write_at
/// (1 s by default), one batch at a time per process. A batch the database refuses is retried with backoff (up to 5 s apart) for as long
/// as it keeps failing: its messages stay unacknowledged in the durable queue (and go back to it if the process stops).
/// </summary>
public sealed class UsageRecordedConsumerDefinition : ConsumerDefinition<UsageRecordedConsumer>
{
    public const int MessageLimit = 500;
    private readonly TimeSpan _timeLimit;

    public UsageRecordedConsumerDefinition(IProxyConfigProvider config)
    {
        ArgumentNullException.ThrowIfNull(config);
        EndpointName = "billing.usage-recorded";
        _timeLimit = config.Current.GeneralSettings.ProxyBatchWriteAt is { } at && at > TimeSpan.Zero ? at : TimeSpan.FromSeconds(1);
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<UsageRecordedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        ArgumentNullException.ThrowIfNull(consumerConfigurator);
        endpointConfigurator.PrefetchCount = MessageLimit * 2;
        endpointConfigurator.ConcurrentMessageLimit = MessageLimit * 2;
        endpointConfigurator.UseMessageRetry(r =>
        {
            // the database is down or the schema not there yet: keep the batch and try again, for as long as it takes
            r.Handle<NpgsqlException>();
            r.Handle<TimeoutException>();
            r.Handle<InvalidOperationException>();
            r.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(300));
        });
        consumerConfigurator.Options<BatchOptions>(o => o
            .SetMessageLimit(MessageLimit)
            .SetTimeLimit(_timeLimit)
            .SetConcurrencyLimit(1));
    }
}

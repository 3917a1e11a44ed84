using Broker.ServiceDefaults.Database;
using MassTransit;

namespace Broker.Billing;

/// <summary>
/// How Billing's batched endpoints (usage, attempts, guardrail decisions) take their messages, in one place: batches of a
/// message limit or what arrived within a time limit, one batch at a time, two batches in flight; a batch the database
/// cannot take right now (<see cref="DatabaseErrors.IsTransient"/>) retried with backoff up to 5 s apart for at least
/// <see cref="TransientRetryLimit"/> tries (about an hour), its messages unacknowledged in the durable queue; anything
/// else three more tries, then the endpoint's error queue, never a blocked queue.
/// On the in-memory bus (embedded) a batch holds at most <see cref="InMemoryMessageLimit"/>: MassTransit's in-memory
/// endpoint runs one reader per allowed concurrent message on one channel and every message wakes all the idle ones, so
/// 1,000 readers cost milliseconds of CPU per event (profiled: bench/RESULTS.md, 2026-12-04). Smaller batches change
/// nothing that is written, only how many rows go per transaction.
/// </summary>
public static class BatchEndpointLimits
{
    /// <summary>The largest batch on the in-memory bus.</summary>
    public const int InMemoryMessageLimit = 50;

    /// <summary>Tries of a batch the database cannot take right now (about an hour at up to 5 s apart).</summary>
    public const int TransientRetryLimit = 720;

    /// <summary>The batch size for this endpoint: <paramref name="messageLimit"/>, capped on the in-memory bus.</summary>
    public static int For(IReceiveEndpointConfigurator endpoint, int messageLimit) =>
        endpoint is IInMemoryReceiveEndpointConfigurator ? Math.Min(messageLimit, InMemoryMessageLimit) : messageLimit;

    /// <summary>The whole batched endpoint as described above, for <typeparamref name="TConsumer"/>.</summary>
    public static void Configure<TConsumer>(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<TConsumer> consumer,
        int messageLimit, TimeSpan timeLimit)
        where TConsumer : class
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(consumer);
        var batchSize = For(endpoint, messageLimit);
        endpoint.PrefetchCount = batchSize * 2;
        endpoint.ConcurrentMessageLimit = batchSize * 2;
        // the database is down or the schema not there yet: keep the batch and try again, for as long as an outage lasts
        endpoint.UseMessageRetry(r =>
        {
            r.Handle<Exception>(DatabaseErrors.IsTransient);
            r.Exponential(TransientRetryLimit, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(300));
        });
        // anything else (a bug, a message that cannot be read): a few tries, then the error queue
        endpoint.UseMessageRetry(r =>
        {
            r.Ignore<OperationCanceledException>();
            r.Ignore<Exception>(DatabaseErrors.IsTransient);
            r.Intervals(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        });
        consumer.Options<BatchOptions>(o => o
            .SetMessageLimit(batchSize)
            .SetTimeLimit(timeLimit)
            .SetConcurrencyLimit(1));
    }
}

using MassTransit;

namespace Broker.Billing;

/// <summary>
/// How many events one Billing batch holds, and how many messages its endpoint keeps in flight (twice that: one batch
/// writing while the next fills). On RabbitMQ the figure the definition asks for; on the in-memory bus (embedded) at most
/// <see cref="InMemoryMessageLimit"/>: MassTransit's in-memory endpoint runs one reader per allowed concurrent message on
/// one channel and every message wakes all the idle ones, so 1,000 readers cost milliseconds of CPU per event (profiled:
/// bench/RESULTS.md, 2026-12-04). Smaller batches change nothing that is written, only how many rows go per transaction.
/// </summary>
public static class BatchEndpointLimits
{
    /// <summary>The largest batch on the in-memory bus.</summary>
    public const int InMemoryMessageLimit = 50;

    /// <summary>The batch size for this endpoint: <paramref name="messageLimit"/>, capped on the in-memory bus.</summary>
    public static int For(IReceiveEndpointConfigurator endpoint, int messageLimit) =>
        endpoint is IInMemoryReceiveEndpointConfigurator ? Math.Min(messageLimit, InMemoryMessageLimit) : messageLimit;

    /// <summary>Prefetch and concurrency for batches of <paramref name="batchSize"/>: two batches in flight.</summary>
    public static void Apply(IReceiveEndpointConfigurator endpoint, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        endpoint.PrefetchCount = batchSize * 2;
        endpoint.ConcurrentMessageLimit = batchSize * 2;
    }
}

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// The RabbitMQ arguments of Broker's durable queues, in one place: the receive endpoints (through
/// <see cref="DurableQueueTopology"/>), the retry wait queues (<see cref="DelayedSend"/>), the start-up check and
/// <c>broker migrate-queues</c> all declare with these, so their declarations never disagree.
/// <para>
/// A quorum queue has a delivery limit: a message handed out <see cref="BusOptions.DeliveryLimit"/> times without
/// being settled (the consumer's process died each time, a poison message) is dead-lettered, at least once, through
/// the default exchange to the queue's <c>_error</c> queue, where MassTransit puts the messages whose retries failed and
/// where <c>broker replay-errors</c> finds them. A message that fails in a consumer never reaches that limit: MassTransit
/// moves it to <c>_error</c> itself (logged and alerted by <see cref="DeadLetterFilter"/>).
/// </para>
/// </summary>
public static class QueueArguments
{
    public const string QueueTypeKey = "x-queue-type";

    /// <summary>The arguments of the durable queue <paramref name="queue"/> (none for a classic one).</summary>
    public static Dictionary<string, object?> For(BusOptions options, string queue)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(queue);
        if (options.QueueType != QueueType.Quorum)
        {
            return [];
        }

        var arguments = new Dictionary<string, object?>
        {
            [QueueTypeKey] = "quorum",
            ["x-delivery-limit"] = options.DeliveryLimit,
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = DeadLetter.ErrorQueueOf(queue),
            // the message is removed from this queue only once its _error queue has it (needs reject-publish)
            ["x-dead-letter-strategy"] = "at-least-once",
            ["x-overflow"] = "reject-publish",
        };
        if (options.ReplicationFactor is { } replicas)
        {
            // Bus:QuorumReplicationFactor: every declaration carries it, so none disagrees with the endpoint's
            arguments["x-quorum-initial-group-size"] = replicas;
        }

        return arguments;
    }

    /// <summary>Parses BROKER_QUEUE_TYPE / Bus:QueueType: quorum (default) or classic.</summary>
    public static QueueType? ParseType(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "quorum" => QueueType.Quorum,
        "classic" => QueueType.Classic,
        _ => null,
    };
}

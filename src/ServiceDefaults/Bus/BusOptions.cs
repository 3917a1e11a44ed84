namespace Broker.ServiceDefaults.Bus;

/// <summary>Transport selection: RabbitMQ when <see cref="RabbitMqUrl"/> is set, else the in-memory transport.</summary>
public sealed record BusOptions
{
    /// <summary>amqp://user:pass@host:port/vhost, from RABBITMQ_URL.</summary>
    public Uri? RabbitMqUrl { get; init; }

    /// <summary>
    /// The nodes of a RabbitMQ cluster (host or host:port), from RABBITMQ_CLUSTER_NODES or a comma-separated host list
    /// in RABBITMQ_URL: the bus connects to the first that answers and moves to another when its node goes away.
    /// Empty: only <see cref="RabbitMqUrl"/>'s host.
    /// </summary>
    public IReadOnlyList<string> ClusterNodes { get; init; } = [];

    /// <summary>The type of every durable queue Broker declares (receive endpoints, retry wait queues).</summary>
    public QueueType QueueType { get; init; } = QueueType.Quorum;

    /// <summary>
    /// Quorum queues: how many times a message may be handed to a consumer that did not settle it (its process died,
    /// its channel closed) before RabbitMQ gives up on it and dead-letters it to the queue's <c>_error</c> queue.
    /// </summary>
    public int DeliveryLimit { get; init; } = DefaultDeliveryLimit;

    /// <summary>Quorum queues: the number of replicas of a new queue (null: RabbitMQ's default, every node up to its limit).</summary>
    public int? ReplicationFactor { get; init; }

    public const int DefaultDeliveryLimit = 20;

    public bool IsDistributed => RabbitMqUrl is not null;
}

/// <summary>The RabbitMQ queue type of Broker's durable queues.</summary>
public enum QueueType
{
    /// <summary>Replicated (Raft) queues: survive the loss of a minority of a cluster's nodes; the default.</summary>
    Quorum,

    /// <summary>Single-node queues: for a development machine with one RabbitMQ node.</summary>
    Classic,
}

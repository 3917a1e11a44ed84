namespace Broker.Ingress.Features.Queues;

/// <summary>One model group's queue as RabbitMQ reports it.</summary>
public sealed record QueueDepth(
    string ModelGroup,
    string Queue,
    long? MessagesReady,
    long? MessagesUnacknowledged,
    long? Consumers,
    double? OldestMessageAgeSeconds,
    int ConcurrencyPerWorker);

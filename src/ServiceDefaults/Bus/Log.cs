using Microsoft.Extensions.Logging;

namespace Broker.ServiceDefaults.Bus;

internal static partial class Log
{
    [LoggerMessage(EventId = 5401, Level = LogLevel.Error, Message = "Message {MessageId} ({MessageType}) on {Queue} failed all its retries and was moved to {ErrorQueue}: {Reason}. Once the cause is fixed, `broker replay-errors` moves it back")]
    public static partial void DeadLettered(ILogger logger, string queue, string errorQueue, string? messageId, string? messageType, string reason);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Warning, Message = "RabbitMQ wait queues unavailable, a delayed message waits in its consumer instead: {Reason}")]
    public static partial void WaitQueuesUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 5403, Level = LogLevel.Critical, Message = "{Count} RabbitMQ queue(s) exist with other arguments than Broker's {QueueType} queues: {Queues} ({Reason}). Stop every Broker process and run `broker migrate-queues` once, or set BROKER_QUEUE_TYPE to the type they have")]
    public static partial void QueueTypeMismatch(ILogger logger, int count, string queueType, string queues, string reason);

    [LoggerMessage(EventId = 5404, Level = LogLevel.Warning, Message = "RabbitMQ not reachable at start-up, queue types not checked: {Reason}")]
    public static partial void QueueCheckSkipped(ILogger logger, string reason);

    [LoggerMessage(EventId = 5405, Level = LogLevel.Warning, Message = "RabbitMQ connection lost while a message of {Queue} was being consumed: its delivery ends without waiting more than {GraceSeconds} s for the consumer (the message is back in its queue), so that every endpoint reconnects")]
    public static partial void DeliveryReleased(ILogger logger, string queue, double graceSeconds);

    [LoggerMessage(EventId = 5406, Level = LogLevel.Debug, Message = "A consumer released after its RabbitMQ connection closed ended with an error")]
    public static partial void ReleasedConsumerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5407, Level = LogLevel.Information, Message = "RabbitMQ queue {Queue} removed ({Reason}), with the {Dropped} message(s) it held")]
    public static partial void RetiredQueueRemoved(ILogger logger, string queue, string reason, uint dropped);

    [LoggerMessage(EventId = 5408, Level = LogLevel.Warning, Message = "RabbitMQ queue {Queue} is not needed here ({Reason}) but another process still consumes it, so it stays; it is removed at the next start once nothing consumes it")]
    public static partial void RetiredQueueInUse(ILogger logger, string queue, string reason);

    [LoggerMessage(EventId = 5409, Level = LogLevel.Warning, Message = "Queues this process no longer needs were not removed from RabbitMQ (the next start tries again): {Reason}")]
    public static partial void RetiredQueuesSkipped(ILogger logger, string reason);

    [LoggerMessage(EventId = 5410, Level = LogLevel.Error, Message = "A handler of this process failed on a {MessageType} sent to it in memory; the sender goes on")]
    public static partial void LocalHandlerFailed(ILogger logger, string messageType, Exception exception);
}

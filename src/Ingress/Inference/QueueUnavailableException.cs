using System.Globalization;
using Broker.Contracts.Inference;

namespace Broker.Ingress.Inference;

/// <summary>The message queue did not take a live request in time (RabbitMQ down or unreachable): nothing was queued.</summary>
public sealed class QueueUnavailableException : Exception
{
    public QueueUnavailableException()
    {
    }

    public QueueUnavailableException(string message)
        : base(message)
    {
    }

    public QueueUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The send did not complete in time.</summary>
    public static QueueUnavailableException SendTimedOut(string queue, double seconds) => new(string.Create(CultureInfo.InvariantCulture,
        $"The message queue did not take the request within {seconds:0.###}s (queue {queue}); it was most likely not queued. Retry shortly."));

    /// <summary>The transport refused the send (connection closed, channel error).</summary>
    public static QueueUnavailableException SendFailed(string queue, Exception cause) => new(
        $"The message queue refused the request (queue {queue}: {cause.GetType().Name}); it was not queued. Retry shortly.", cause);

    /// <summary>The answer could not arrive: this instance lost its answer queue while the request waited.</summary>
    public static QueueUnavailableException AnswerLost(string queue) => new(
        $"This gateway instance lost its connection to the message queue while the request was in flight (queue {queue}); its answer cannot arrive. Retry shortly.");

    /// <summary>This instance cannot receive answers now (its connection to the queue is down or recovering).</summary>
    public static QueueUnavailableException NotReceiving(string queue) => new(
        $"This gateway instance is reconnecting to the message queue and cannot receive answers yet (queue {queue}); the request was not queued. Retry shortly.");

    /// <summary>The answer the caller gets: 503 <c>queue_unavailable</c>, retry after a few seconds.</summary>
    public InferenceFailed Reply(Guid requestId, string queue) => new()
    {
        RequestId = requestId,
        StatusCode = 503,
        ErrorClass = ProviderErrorClass.InternalServerError,
        Message = Message,
        Type = "api_error",
        Code = "queue_unavailable",
        RetryAfterSeconds = 5,
        Queue = queue,
    };
}

using System.Globalization;
using Broker.Contracts.Inference;

namespace Broker.Ingress.Inference;

/// <summary>
/// The message queue did not take a live request in time (RabbitMQ down or unreachable): nothing was queued; or
/// (<see cref="MayHaveRun"/>) the request was queued and its answer can no longer arrive.
/// </summary>
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

    /// <summary>
    /// The answer could not arrive: this instance lost its answer queue while the request waited. The request was
    /// queued and may still run (and be charged), so this is not the safe-to-retry <c>queue_unavailable</c>.
    /// </summary>
    public static QueueUnavailableException AnswerLost(string queue) => new(
        $"This gateway instance lost its connection to the message queue while the request was in flight (queue {queue}); " +
        "its answer cannot arrive, but the request may still run and be charged. Look it up with GET /request/{x-litellm-call-id} " +
        "before sending it again.")
    {
        MayHaveRun = true,
    };

    /// <summary>
    /// The command was being published when the connection failed or the send timed out, and RabbitMQ never confirmed
    /// it: it may be in the queue and run (and be charged), so this is <c>answer_lost</c>, not the safe-to-retry
    /// <c>queue_unavailable</c>.
    /// </summary>
    public static QueueUnavailableException Unconfirmed(string queue, Exception? cause = null)
    {
        var message = $"The message queue did not confirm that it took the request (queue {queue}{(cause is null ? "" : ": " + cause.GetType().Name)}); " +
            "it may still run and be charged. Look it up with GET /request/{x-litellm-call-id} before sending it again.";
        return cause is null ? new(message) { MayHaveRun = true } : new(message, cause) { MayHaveRun = true };
    }

    /// <summary>True when the request reached the queue (its answer was lost): it may have run.</summary>
    public bool MayHaveRun { get; private init; }

    /// <summary>This instance cannot receive answers now (its connection to the queue is down or recovering).</summary>
    public static QueueUnavailableException NotReceiving(string queue) => new(
        $"This gateway instance is reconnecting to the message queue and cannot receive answers yet (queue {queue}); the request was not queued. Retry shortly.");

    /// <summary>
    /// The answer the caller gets: 503 <c>queue_unavailable</c>, retry after a few seconds (nothing was queued); or
    /// 502 <c>answer_lost</c>, without Retry-After (<see cref="MayHaveRun"/>).
    /// </summary>
    public InferenceFailed Reply(Guid requestId, string queue) => new()
    {
        RequestId = requestId,
        StatusCode = MayHaveRun ? 502 : 503,
        ErrorClass = ProviderErrorClass.InternalServerError,
        Message = Message,
        Type = "api_error",
        Code = MayHaveRun ? "answer_lost" : "queue_unavailable",
        RetryAfterSeconds = MayHaveRun ? null : 5,
        Queue = queue,
    };
}

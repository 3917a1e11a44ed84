namespace Broker.ServiceDefaults.Bus;

/// <summary>A message moved to its queue's <c>_error</c> queue after its retries: what the log and the alert name.</summary>
/// <param name="Queue">The queue it came from (its error queue is <c>Queue + "_error"</c>).</param>
/// <param name="MessageId">MassTransit's message id, when known.</param>
/// <param name="MessageType">The message type URN, when known.</param>
/// <param name="Reason">The exception type and message that made it fail.</param>
public sealed record DeadLetter(string Queue, string? MessageId, string? MessageType, string Reason)
{
    /// <summary>The error queue of a queue: MassTransit's naming.</summary>
    public static string ErrorQueueOf(string queue) => queue + "_error";
}

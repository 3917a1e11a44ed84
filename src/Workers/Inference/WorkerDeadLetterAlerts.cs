using Broker.Contracts.Alerts;
using Broker.ServiceDefaults.Bus;
using MassTransit;

namespace Broker.Workers.Inference;

/// <summary>
/// Raises a <c>dead_lettered_messages</c> alert for a message of a Workers queue (a model group's queue, the retry
/// saga's) moved to its <c>_error</c> queue; Billing's queues raise their own.
/// </summary>
public sealed class WorkerDeadLetterAlerts(IBus bus, TimeProvider timeProvider) : IDeadLetterHandler
{
    public const string Kind = "dead_lettered_messages";

    public async Task HandleAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (letter.Queue.StartsWith("billing.", StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            await bus.Publish(new AlertRaised
            {
                Kind = Kind,
                DedupeKey = $"{Kind}:{letter.Queue}",
                Level = "High",
                Message = $"A message of {letter.Queue} could not be processed ({letter.Reason}); it was moved to " +
                    $"{DeadLetter.ErrorQueueOf(letter.Queue)}. Fix the cause, then run `broker replay-errors --queue {letter.Queue}`.",
                RaisedAt = timeProvider.GetUtcNow(),
                Data = new Dictionary<string, string?>
                {
                    ["event"] = Kind,
                    ["queue"] = letter.Queue,
                    ["error_queue"] = DeadLetter.ErrorQueueOf(letter.Queue),
                    ["message_id"] = letter.MessageId,
                    ["message_type"] = letter.MessageType,
                    ["error"] = letter.Reason,
                },
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // the bus itself is failing: the error log line of the dead letter is all there is
        }
    }
}

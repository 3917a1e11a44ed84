using System.Globalization;
using Broker.Billing.Usage;
using Broker.Contracts.Alerts;
using Broker.ServiceDefaults.Bus;
using MassTransit;

namespace Broker.Billing.Alerts;

/// <summary>
/// Raises an alert for a message of a Billing queue moved to its <c>_error</c> queue: <c>failed_tracking_spend</c> for
/// usage events (spend not counted until <c>broker replay-errors</c>), <c>dead_lettered_messages</c> for the others.
/// An alert that could not be delivered is only logged (raising one for it would loop).
/// </summary>
public sealed class DeadLetterAlerts(IBus bus, TimeProvider timeProvider) : IDeadLetterHandler
{
    public async Task HandleAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (!letter.Queue.StartsWith("billing.", StringComparison.Ordinal) || letter.Queue == AlertRaisedConsumerDefinition.QueueName)
        {
            return;
        }

        var spend = letter.Queue == UsageRecordedConsumerDefinition.QueueName;
        var kind = spend ? AlertKinds.FailedTrackingSpend : AlertKinds.DeadLetteredMessages;
        var what = spend ? "A usage event could not be written to the spend logs" : $"A message of {letter.Queue} could not be processed";
        try
        {
            await bus.Publish(new AlertRaised
            {
                Kind = kind,
                DedupeKey = $"{kind}:{letter.Queue}",
                Level = "High",
                Message = $"{what} ({letter.Reason}); it was moved to {DeadLetter.ErrorQueueOf(letter.Queue)}. " +
                    "Fix the cause, then run `broker replay-errors` to process it again.",
                RaisedAt = timeProvider.GetUtcNow(),
                Data = new Dictionary<string, string?>
                {
                    ["event"] = kind,
                    ["queue"] = letter.Queue,
                    ["error_queue"] = DeadLetter.ErrorQueueOf(letter.Queue),
                    ["message_id"] = letter.MessageId,
                    ["message_type"] = letter.MessageType,
                    ["error"] = letter.Reason,
                    ["raised_at"] = timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
                },
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // the bus itself is failing: the error log line of the dead letter is all there is
        }
    }
}

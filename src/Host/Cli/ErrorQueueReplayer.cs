using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Broker.Host.Cli;

/// <summary>
/// Moves messages that a consumer gave up on from <c>&lt;queue&gt;_error</c> back to <c>&lt;queue&gt;</c>, so they are
/// processed again once their cause is fixed. Each message is published to the queue (through the default exchange,
/// with its body, properties and headers, minus the fault headers MassTransit added) and confirmed by RabbitMQ before
/// it is acknowledged on the error queue: a stop midway duplicates at most one message, never loses one (and Billing
/// counts a redelivered usage event once). Only the messages there when it starts are moved, so one that fails again
/// at once is not replayed in a loop.
/// </summary>
public static class ErrorQueueReplayer
{
    public const string ErrorSuffix = "_error";

    /// <summary>The outcome for one queue: messages moved, or why nothing was.</summary>
    public sealed record Result(string Queue, string ErrorQueue, int Moved, string? Problem);

    public static async Task<Result> ReplayAsync(Uri amqpUrl, string queue, int? limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amqpUrl);
        ArgumentException.ThrowIfNullOrWhiteSpace(queue);
        var target = queue.EndsWith(ErrorSuffix, StringComparison.Ordinal) ? queue[..^ErrorSuffix.Length] : queue;
        var errorQueue = target + ErrorSuffix;
        var factory = new ConnectionFactory { Uri = amqpUrl, ClientProvidedName = "broker replay-errors" };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        // a passive declare of a missing queue closes its channel: one channel to look, another to move
        uint pending;
        await using (var probe = await connection.CreateChannelAsync(cancellationToken: cancellationToken))
        {
            try
            {
                pending = (await probe.QueueDeclarePassiveAsync(errorQueue, cancellationToken)).MessageCount;
            }
            catch (OperationInterruptedException)
            {
                return new Result(target, errorQueue, 0, $"there is no queue {errorQueue}: nothing of {target} has failed");
            }
        }

        await using (var probe = await connection.CreateChannelAsync(cancellationToken: cancellationToken))
        {
            try
            {
                await probe.QueueDeclarePassiveAsync(target, cancellationToken);
            }
            catch (OperationInterruptedException)
            {
                return new Result(target, errorQueue, 0, $"there is no queue {target} to move its messages back to (start the role that consumes it first)");
            }
        }

        var max = limit is { } l ? Math.Min(pending, (uint)Math.Max(0, l)) : pending;
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var moved = 0;
        while (moved < max)
        {
            var message = await channel.BasicGetAsync(errorQueue, autoAck: false, cancellationToken);
            if (message is null)
            {
                break;
            }

            var properties = new BasicProperties(message.BasicProperties);
            if (properties.Headers is { } headers)
            {
                properties.Headers = headers.Where(h => !IsFaultHeader(h.Key)).ToDictionary(h => h.Key, h => h.Value);
            }

            // mandatory: a queue that went away makes the publish fail rather than drop the message
            await channel.BasicPublishAsync("", target, mandatory: true, properties, message.Body, cancellationToken);
            await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }

        return new Result(target, errorQueue, moved, null);
    }

    private static bool IsFaultHeader(string name) =>
        name.StartsWith("MT-Fault-", StringComparison.OrdinalIgnoreCase) || name.Equals("MT-Reason", StringComparison.OrdinalIgnoreCase);
}

using Broker.ServiceDefaults.Bus;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Broker.Host.Cli;

/// <summary>
/// Turns Broker's existing queues into the type it now declares (classic → quorum on upgrade, or back), keeping every
/// message. RabbitMQ cannot change a queue's type in place, so for each queue whose declaration it refuses:
/// its messages move to <c>&lt;queue&gt;.migrating</c> (a new queue of the target type), the old queue is deleted once
/// empty (a message published between the look and the delete would be lost: Broker must be stopped) and declared again with Broker's arguments (and bound again to its exchange of the same name), and the
/// messages move back. Each message is published with publisher confirms and only then acknowledged at its source:
/// a stop midway duplicates at most one message, never loses one, and running it again finishes the job (a
/// <c>.migrating</c> queue left behind is emptied into its queue first). Broker must be stopped meanwhile: a queue
/// with consumers is refused.
/// </summary>
public static class QueueMigrator
{
    public const string TemporarySuffix = ".migrating";

    /// <summary>What happened to one queue.</summary>
    public sealed record Result(string Queue, string Outcome, int Moved, bool Failed = false);

    public static async Task<IReadOnlyList<Result>> MigrateAsync(BusOptions options, IReadOnlyList<QueueTypeCheck.DurableQueue> queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(queues);
        await using var connection = await RabbitConnections.CreateAsync(options.RabbitMqUrl!, options.ClusterNodes, "broker migrate-queues", cancellationToken);
        var results = new List<Result>();
        foreach (var queue in queues)
        {
            results.Add(await MigrateAsync(connection, options, queue, cancellationToken));
        }

        return results;
    }

    private static async Task<Result> MigrateAsync(IConnection connection, BusOptions options, QueueTypeCheck.DurableQueue queue, CancellationToken cancellationToken)
    {
        var temporary = queue.Name + TemporarySuffix;
        var mismatch = await QueueTypeCheck.ProbeAsync(connection, queue, cancellationToken);
        var moved = 0;
        if (mismatch is not null)
        {
            if (mismatch.Consumers > 0)
            {
                return new Result(queue.Name, $"has {mismatch.Consumers} consumer(s): stop every Broker process first", 0, Failed: true);
            }

            await DeclareAsync(connection, temporary, TemporaryArguments(options), cancellationToken);
            // a message published meanwhile makes the delete refuse: move again
            while (true)
            {
                moved += await MoveAsync(connection, queue.Name, temporary, cancellationToken);
                if (await TryDeleteEmptyAsync(connection, queue.Name, cancellationToken))
                {
                    break;
                }
            }

            await DeclareAsync(connection, queue.Name, queue.Arguments, cancellationToken);
            await BindToOwnExchangeAsync(connection, queue.Name, cancellationToken);
        }
        else if (!await ExistsAsync(connection, temporary, cancellationToken))
        {
            return new Result(queue.Name, await ExistsAsync(connection, queue.Name, cancellationToken) ? "already right" : "not there (declared when Broker starts)", 0);
        }

        // back into the queue (also what an interrupted earlier run left in the temporary queue)
        var back = await MoveAsync(connection, temporary, queue.Name, cancellationToken);
        if (!await TryDeleteEmptyAsync(connection, temporary, cancellationToken))
        {
            return new Result(queue.Name, $"{temporary} is not empty: run again", back, Failed: true);
        }

        var type = options.QueueType.ToString().ToLowerInvariant();
        return new Result(queue.Name, mismatch is null ? $"finished an earlier migration to {type}" : $"now {type}", Math.Max(moved, back));
    }

    /// <summary>The holding queue: of the target type, with none of the queue's other arguments (no TTL: nothing expires there).</summary>
    private static Dictionary<string, object?> TemporaryArguments(BusOptions options) =>
        options.QueueType == QueueType.Quorum ? new() { [QueueArguments.QueueTypeKey] = "quorum" } : [];

    private static async Task DeclareAsync(IConnection connection, string queue, IDictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: cancellationToken);
    }

    private static async Task<bool> ExistsAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes <paramref name="queue"/> when it holds no message and has no consumer. Quorum queues take neither if-empty
    /// nor if-unused (RabbitMQ closes the connection), so it looks first, then deletes: Broker is stopped meanwhile.
    /// </summary>
    private static async Task<bool> TryDeleteEmptyAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var state = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
        if (state.MessageCount > 0 || state.ConsumerCount > 0)
        {
            return false;
        }

        return await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken) == 0;
    }

    /// <summary>MassTransit sends to an exchange named like the queue and bound to it: bind the new queue again when it is there.</summary>
    private static async Task BindToOwnExchangeAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.ExchangeDeclarePassiveAsync(queue, cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return;
        }

        await channel.QueueBindAsync(queue, queue, "", cancellationToken: cancellationToken);
    }

    /// <summary>Moves every message of <paramref name="from"/> to <paramref name="to"/>: confirmed publish, then ack.</summary>
    private static async Task<int> MoveAsync(IConnection connection, string from, string to, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var moved = 0;
        while (await channel.BasicGetAsync(from, autoAck: false, cancellationToken) is { } message)
        {
            // mandatory: a queue that went away makes the publish fail rather than drop the message
            await channel.BasicPublishAsync("", to, mandatory: true, new BasicProperties(message.BasicProperties), message.Body, cancellationToken);
            await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }

        return moved;
    }
}

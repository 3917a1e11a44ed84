using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// Before the bus starts: every durable queue this process will declare that already exists must have the
/// arguments Broker declares it with (<see cref="QueueArguments"/>). RabbitMQ refuses to redeclare a classic queue as
/// quorum (PRECONDITION_FAILED), so a queue left by an older Broker (or by the other BROKER_QUEUE_TYPE) would fault its
/// endpoint over and over; instead the process stops at once, naming the queues and <c>broker migrate-queues</c>.
/// </summary>
public sealed class QueueTypeCheck(IBusControl bus, BusOptions options, DurableQueueTopology topology, ILogger<QueueTypeCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // the bus is configured (not started) when first resolved: its endpoints' queues are known from here on
        _ = bus.Address;
        var queues = Declarations(options, topology.Queues);
        IReadOnlyList<QueueMismatch> mismatches;
        try
        {
            mismatches = await FindMismatchesAsync(options, queues, cancellationToken);
        }
        catch (Exception ex) when (ex is BrokerUnreachableException or ConnectFailureException or OperationInterruptedException or TimeoutException)
        {
            // RabbitMQ is not there yet: the bus waits for it as usual; the declarations will tell then
            Log.QueueCheckSkipped(logger, ex.Message);
            return;
        }

        if (mismatches.Count == 0)
        {
            // where a quorum queue dead-letters a message past its delivery limit: there before any message can be
            await DeclareErrorQueuesAsync(options, topology.Queues, cancellationToken);
            return;
        }

        var names = string.Join(", ", mismatches.Select(m => m.Queue));
        var type = options.QueueType.ToString().ToLowerInvariant();
        Log.QueueTypeMismatch(logger, mismatches.Count, type, names, mismatches[0].Reason);
        throw new InvalidOperationException(
            $"{mismatches.Count} RabbitMQ queue(s) exist with other arguments than Broker declares ({type} queues): {names} " +
            $"({mismatches[0].Reason}). Stop every Broker process and run `broker migrate-queues` once (it moves their messages " +
            "into queues of the right type), or set BROKER_QUEUE_TYPE to the type they have.");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Declares the <c>_error</c> queue of each quorum queue as MassTransit declares it (durable, no arguments): a message
    /// dead-lettered at least once waits in its queue until the target exists, so it must exist from the start.
    /// </summary>
    public static async Task DeclareErrorQueuesAsync(BusOptions options, IEnumerable<string> endpointQueues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpointQueues);
        if (options.QueueType != QueueType.Quorum)
        {
            return;
        }

        await using var connection = await RabbitConnections.CreateAsync(options.RabbitMqUrl!, options.ClusterNodes, "broker-queue-check", cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        foreach (var queue in endpointQueues)
        {
            await channel.QueueDeclareAsync(DeadLetter.ErrorQueueOf(queue), durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        }
    }

    /// <summary>A durable queue of Broker's and the arguments it is declared with.</summary>
    public sealed record DurableQueue(string Name, Dictionary<string, object?> Arguments);

    /// <summary>The receive endpoints' queues <paramref name="endpointQueues"/> and the retry wait queues, as Broker declares them.</summary>
    public static IReadOnlyList<DurableQueue> Declarations(BusOptions options, IEnumerable<string> endpointQueues)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpointQueues);
        return
        [
            .. endpointQueues.Distinct(StringComparer.Ordinal).Select(q => new DurableQueue(q, QueueArguments.For(options, q))),
            .. DelayedSend.Steps.Select(step => new DurableQueue(DelayedSend.WaitQueueName(step), DelayedSend.WaitQueueArguments(options, step))),
        ];
    }

    /// <summary>A queue that exists with arguments RabbitMQ will not let Broker redeclare, and RabbitMQ's reason.</summary>
    public sealed record QueueMismatch(string Queue, uint Messages, uint Consumers, string Reason);

    /// <summary>
    /// The queues among <paramref name="queues"/> that exist but cannot be declared with Broker's arguments. A queue
    /// that does not exist is fine (it will be declared); one that matches is left as it is (a declare with equal
    /// arguments changes nothing).
    /// </summary>
    public static async Task<IReadOnlyList<QueueMismatch>> FindMismatchesAsync(BusOptions options, IEnumerable<DurableQueue> queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(queues);
        await using var connection = await RabbitConnections.CreateAsync(options.RabbitMqUrl!, options.ClusterNodes, "broker-queue-check", cancellationToken);
        var found = new List<QueueMismatch>();
        foreach (var queue in queues)
        {
            if (await ProbeAsync(connection, queue, cancellationToken) is { } mismatch)
            {
                found.Add(mismatch);
            }
        }

        return found;
    }

    /// <summary>Null when <paramref name="queue"/> is missing or already declared as Broker declares it.</summary>
    public static async Task<QueueMismatch?> ProbeAsync(IConnection connection, DurableQueue queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(queue);
        QueueDeclareOk existing;
        // a failed declare closes its channel: one channel per look
        await using (var probe = await connection.CreateChannelAsync(cancellationToken: cancellationToken))
        {
            try
            {
                existing = await probe.QueueDeclarePassiveAsync(queue.Name, cancellationToken);
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
            {
                return null;
            }
        }

        await using var declare = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await declare.QueueDeclareAsync(queue.Name, durable: true, exclusive: false, autoDelete: false,
                arguments: queue.Arguments, cancellationToken: cancellationToken);
            return null;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            return new QueueMismatch(queue.Name, existing.MessageCount, existing.ConsumerCount, ex.ShutdownReason.ReplyText);
        }
    }
}

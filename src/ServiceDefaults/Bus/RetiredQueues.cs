using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// On RabbitMQ, before the bus starts: removes each <see cref="RetiredQueue"/> and its exchange, so that the events
/// still bound to it from an earlier start with the feature on do not pile up with nobody consuming them. A queue another
/// process still consumes (a rolling update) is left for the next start. Anything else that goes wrong is logged, and
/// never stops the process from starting.
/// </summary>
public sealed class RetiredQueues(IEnumerable<RetiredQueue> queues, BusOptions options, ILogger<RetiredQueues> logger) : IHostedService
{
    private const ushort NotFound = 404;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var retired = queues.DistinctBy(q => q.Name, StringComparer.Ordinal).ToList();
        if (options.RabbitMqUrl is not { } url || retired.Count == 0)
        {
            return;
        }

        try
        {
            await using var connection = await RabbitConnections.CreateAsync(url, options.ClusterNodes, "broker retired-queues", cancellationToken);
            foreach (var queue in retired)
            {
                try
                {
                    await RemoveAsync(connection, queue, cancellationToken);
                }
                catch (OperationInterruptedException ex)
                {
                    // refused for this queue (access, a lock): the others are still removed
                    Log.RetiredQueuesSkipped(logger, $"{queue.Name}: {ex.Message}");
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // RabbitMQ not there yet (the bus waits for it as usual) or it refused: a clean-up, never a reason not to start;
            // the next start tries again
            Log.RetiredQueuesSkipped(logger, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RemoveAsync(IConnection connection, RetiredQueue queue, CancellationToken cancellationToken)
    {
        // a failed AMQP operation closes its channel: one channel per operation
        try
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            // a consumer that attaches between this check and the delete (a process starting right now with the feature
            // on) loses the queue; MassTransit declares it again when that consumer reconnects
            var state = await channel.QueueDeclarePassiveAsync(queue.Name, cancellationToken);
            if (state.ConsumerCount > 0)
            {
                // quorum queues refuse queue.delete's if-unused flag: the consumer count is asked for first instead
                Log.RetiredQueueInUse(logger, queue.Name, queue.Reason);
                return;
            }

            var dropped = await channel.QueueDeleteAsync(queue.Name, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken);
            Log.RetiredQueueRemoved(logger, queue.Name, queue.Reason, dropped);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
            // never declared here, or removed before: its exchange may still be there
        }

        try
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            await channel.ExchangeDeleteAsync(queue.Name, ifUnused: false, cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
        }
    }
}

using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// Sends a message to a queue so that it arrives there after a delay, held by the message broker rather than by a
/// process: nothing waits in a consumer (holding a concurrency slot), and a process that dies meanwhile loses nothing.
/// <para>
/// On RabbitMQ (no delayed-exchange plugin needed) the message goes to a wait queue, one per delay step
/// (<c>broker.wait.&lt;ms&gt;</c>, see <see cref="Steps"/>): each has that step as its message TTL and dead-letters
/// expired messages to the default exchange under their original routing key, the destination queue's name. The delay
/// is rounded up to the next step, so a message never arrives early. In memory (one process) the transport's own
/// delayed delivery is used.
/// </para>
/// </summary>
public sealed class DelayedSend(BusOptions options, ILogger<DelayedSend> logger)
{
    /// <summary>The prefix of the wait queues (and of the fanout exchange in front of each).</summary>
    public const string WaitQueuePrefix = "broker.wait.";

    /// <summary>The delays a wait queue exists for; a longer delay waits the last step and is sent on again by its consumer.</summary>
    public static readonly IReadOnlyList<TimeSpan> Steps =
    [
        .. new[] { 250, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000, 45000, 60000 }.Select(ms => TimeSpan.FromMilliseconds(ms)),
    ];

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, Task> _queues = new(StringComparer.Ordinal);
    private Task? _declared;

    /// <summary>
    /// The address to send to Broker's durable queue <paramref name="queue"/> (a model group's, the retry saga's).
    /// A <c>queue:</c> address makes MassTransit declare the queue with no arguments, which RabbitMQ refuses for a quorum
    /// queue; so on RabbitMQ with quorum queues the queue, its exchange and their binding are declared here once per
    /// process with Broker's arguments (as its consumers declare them), and the message goes to the exchange.
    /// </summary>
    public async Task<Uri> QueueAddressAsync(string queue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        if (options.RabbitMqUrl is null || options.QueueType != QueueType.Quorum)
        {
            return new Uri($"queue:{queue}");
        }

        var declared = _queues.GetOrAdd(queue, q => DeclareQueueAsync(options, q));
        try
        {
            await declared.WaitAsync(cancellationToken);
        }
        catch (Exception) when (!declared.IsCompletedSuccessfully)
        {
            // RabbitMQ away or the queue of another type: try again with the next message
            _queues.TryRemove(KeyValuePair.Create(queue, declared));
            throw;
        }

        return new Uri($"exchange:{queue}");
    }

    private static async Task DeclareQueueAsync(BusOptions options, string queue)
    {
        await using var connection = await RabbitConnections.CreateAsync(options.RabbitMqUrl!, options.ClusterNodes, "broker-queue-declare", CancellationToken.None);
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: QueueArguments.For(options, queue));
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            throw new InvalidOperationException(
                $"RabbitMQ queue {queue} exists with other arguments than Broker's {options.QueueType.ToString().ToLowerInvariant()} queues " +
                $"({ex.ShutdownReason.ReplyText}): run `broker migrate-queues`", ex);
        }

        await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false);
        await channel.QueueBindAsync(queue, queue, "");
    }

    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="queue"/>, arriving there no earlier than <paramref name="delay"/>
    /// from now (at once when it is not positive). False when the delay could not be left to the broker (its wait
    /// queues could not be declared): the message was not sent, and the caller decides.
    /// </summary>
    public async Task<bool> TrySendAsync<T>(
        ISendEndpointProvider provider, string queue, T message, TimeSpan delay, Action<SendContext<T>> configure, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(configure);
        if (delay <= TimeSpan.Zero)
        {
            var direct = await provider.GetSendEndpoint(await QueueAddressAsync(queue, cancellationToken));
            await direct.Send(message, configure, cancellationToken);
            return true;
        }

        if (options.RabbitMqUrl is null)
        {
            // the in-memory transport delays delivery itself
            var local = await provider.GetSendEndpoint(new Uri($"queue:{queue}"));
            await local.Send(message, context =>
            {
                configure(context);
                context.Delay = delay;
            }, cancellationToken);
            return true;
        }

        if (!await DeclaredAsync())
        {
            return false;
        }

        var step = Steps.FirstOrDefault(s => s >= delay, Steps[^1]);
        var wait = await provider.GetSendEndpoint(new Uri($"exchange:{WaitQueueName(step)}?type={ExchangeType.Fanout}"));
        await wait.Send(message, context =>
        {
            configure(context);
            // the wait queue's TTL is the delay; a message TTL would only shorten it (and is gone after dead-lettering)
            context.TimeToLive = null;
            context.TrySetRoutingKey(queue);
        }, cancellationToken);
        return true;
    }

    /// <summary>The wait queue (and exchange) of one delay step.</summary>
    public static string WaitQueueName(TimeSpan step) => WaitQueuePrefix + (long)step.TotalMilliseconds;

    private async Task<bool> DeclaredAsync()
    {
        Task declared;
        lock (_lock)
        {
            declared = _declared ??= DeclareAsync(options);
        }

        try
        {
            await declared;
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.WaitQueuesUnavailable(logger, ex.Message);
            lock (_lock)
            {
                // try again next time
                if (ReferenceEquals(_declared, declared))
                {
                    _declared = null;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// The arguments of a step's wait queue: that step as message TTL, expired messages dead-lettered through the default
    /// exchange under their own routing key (the destination queue's name); as a quorum queue (the default), dead-lettered
    /// at least once, so a message leaves the wait queue only once its destination has it.
    /// </summary>
    public static Dictionary<string, object?> WaitQueueArguments(BusOptions options, TimeSpan step)
    {
        ArgumentNullException.ThrowIfNull(options);
        var arguments = QueueArguments.For(options, WaitQueueName(step));
        // the destination's name, not the _error queue: the routing key the message was sent with
        arguments.Remove("x-dead-letter-routing-key");
        // no delivery limit to reach: nothing consumes a wait queue
        arguments.Remove("x-delivery-limit");
        arguments["x-message-ttl"] = (long)step.TotalMilliseconds;
        arguments["x-dead-letter-exchange"] = "";
        return arguments;
    }

    /// <summary>Declares every step's exchange and wait queue (idempotent; every process does it once).</summary>
    private static async Task DeclareAsync(BusOptions options)
    {
        await using var connection = await RabbitConnections.CreateAsync(options.RabbitMqUrl!, options.ClusterNodes, "broker-wait-queues", CancellationToken.None);
        await using var channel = await connection.CreateChannelAsync();
        foreach (var step in Steps)
        {
            var name = WaitQueueName(step);
            await channel.ExchangeDeclareAsync(name, ExchangeType.Fanout, durable: true, autoDelete: false);
            await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, arguments: WaitQueueArguments(options, step));
            await channel.QueueBindAsync(name, name, "");
        }
    }
}

using MassTransit;
using MassTransit.RabbitMqTransport.Configuration;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// Gives every durable receive endpoint of the bus on RabbitMQ Broker's queue type and arguments
/// (<see cref="QueueArguments"/>), whichever role configured it, and remembers their names (the start-up check and
/// <c>broker migrate-queues</c> go through them). Temporary endpoints (a process's own auto-delete queues: replies,
/// stream chunks, cache events) stay classic: quorum queues cannot be exclusive, auto-delete or non-durable.
/// </summary>
public sealed class DurableQueueTopology(BusOptions options) : IEndpointConfigurationObserver
{
    private readonly Lock _lock = new();
    private readonly SortedSet<string> _queues = new(StringComparer.Ordinal);

    /// <summary>The durable queues the bus's receive endpoints declare, once the bus has been configured.</summary>
    public IReadOnlyList<string> Queues
    {
        get
        {
            lock (_lock)
            {
                return [.. _queues];
            }
        }
    }

    public void EndpointConfigured<T>(T configurator)
        where T : IReceiveEndpointConfigurator
    {
        if (configurator is not IRabbitMqReceiveEndpointConfigurator rabbit || configurator is not IRabbitMqReceiveEndpointConfiguration configuration)
        {
            return;
        }

        var settings = configuration.Settings;
        if (!settings.Durable || settings.AutoDelete || settings.Exclusive)
        {
            return;
        }

        var queue = settings.QueueName;
        if (options.QueueType == QueueType.Quorum)
        {
            rabbit.SetQuorumQueue(options.ReplicationFactor);
            foreach (var (key, value) in QueueArguments.For(options, queue))
            {
                rabbit.SetQueueArgument(key, value);
            }
        }

        lock (_lock)
        {
            _queues.Add(queue);
        }
    }
}

using Microsoft.Extensions.DependencyInjection;

namespace Broker.ServiceDefaults.Bus;

public static class RetiredQueueServiceCollectionExtensions
{
    /// <summary>Declares that this process does not run <paramref name="queue"/>'s consumer, so the queue is removed on RabbitMQ (<see cref="RetiredQueues"/>).</summary>
    public static IServiceCollection AddRetiredQueue(this IServiceCollection services, string queue, string reason)
    {
        ArgumentNullException.ThrowIfNull(services);
        // once however many queues are retired: AddHostedService adds a hosted service type only once
        services.AddHostedService<RetiredQueues>();
        return services.AddSingleton(new RetiredQueue(queue, reason));
    }
}

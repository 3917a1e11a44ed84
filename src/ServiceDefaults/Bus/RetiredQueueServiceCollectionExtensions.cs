using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Bus;

public static class RetiredQueueServiceCollectionExtensions
{
    /// <summary>Declares that this process does not run <paramref name="queue"/>'s consumer, so the queue is removed on RabbitMQ (<see cref="RetiredQueues"/>).</summary>
    public static IServiceCollection AddRetiredQueue(this IServiceCollection services, string queue, string reason)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(RetiredQueues)))
        {
            services.AddHostedService<RetiredQueues>();
        }

        return services.AddSingleton(new RetiredQueue(queue, reason));
    }
}

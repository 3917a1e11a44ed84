using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Redis;

/// <summary>Connects <see cref="BrokerRedis"/> while the host starts (at most about a second when Redis is away).</summary>
public sealed class RedisConnector(BrokerRedis redis) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => redis.ConnectAsync();

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

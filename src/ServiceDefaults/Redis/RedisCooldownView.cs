using StackExchange.Redis;

namespace Broker.ServiceDefaults.Redis;

/// <summary>Cooldowns as Redis holds them: one key per deployment, its value the reason, its TTL the time left.</summary>
public sealed class RedisCooldownView(BrokerRedis redis) : ICooldownView
{
    public async Task<IReadOnlyList<ActiveCooldown>> ListAsync(
        IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        if (redis.Available() is not { } db)
        {
            return [];
        }

        try
        {
            var reads = deployments
                .Select(d => (d.ModelGroup, d.DeploymentId, Read: db.StringGetWithExpiryAsync(RoutingKeys.Cooldown(redis.Options.KeyPrefix, d.ModelGroup, d.DeploymentId))))
                .ToList();
            await Task.WhenAll(reads.Select(r => r.Read)).WaitAsync(cancellationToken);
            return reads
                .Where(r => r.Read.Result.Value.HasValue && r.Read.Result.Expiry is { } left && left > TimeSpan.Zero)
                .Select(r => new ActiveCooldown(r.ModelGroup, r.DeploymentId, r.Read.Result.Expiry!.Value.TotalSeconds, r.Read.Result.Value.ToString()))
                .ToList();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
            return [];
        }
    }
}

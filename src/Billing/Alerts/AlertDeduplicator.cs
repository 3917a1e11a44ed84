using System.Collections.Concurrent;
using Broker.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Broker.Billing.Alerts;

/// <summary>
/// "Send this alert to this channel once per window": a Redis <c>SET NX PX</c> shared by every Billing process when
/// Redis is configured, else (or while Redis is down) an in-process map. A claim whose delivery failed is released
/// so that the retry can send it.
/// </summary>
public sealed class AlertDeduplicator(BrokerRedis redis, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _local = new(StringComparer.Ordinal);

    public async Task<bool> TryClaimAsync(string channel, string dedupeKey, TimeSpan ttl)
    {
        var key = Key(channel, dedupeKey);
        if (redis.Available() is { } db)
        {
            try
            {
                return await db.StringSetAsync(key, "1", ttl, When.NotExists);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        var now = timeProvider.GetUtcNow();
        if (_local.Count > 10_000)
        {
            foreach (var (k, until) in _local)
            {
                if (until <= now)
                {
                    _local.TryRemove(k, out _);
                }
            }
        }

        while (true)
        {
            if (_local.TryGetValue(key, out var until))
            {
                if (until > now)
                {
                    return false;
                }

                if (_local.TryUpdate(key, now + ttl, until))
                {
                    return true;
                }
            }
            else if (_local.TryAdd(key, now + ttl))
            {
                return true;
            }
        }
    }

    public async Task ReleaseAsync(string channel, string dedupeKey)
    {
        var key = Key(channel, dedupeKey);
        _local.TryRemove(key, out _);
        if (redis.Available() is { } db)
        {
            try
            {
                await db.KeyDeleteAsync(key);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }
    }

    private string Key(string channel, string dedupeKey) => $"{redis.Options.KeyPrefix}:alert:{channel}:{dedupeKey}";
}

using System.Globalization;
using Broker.Config.Model;
using StackExchange.Redis;

namespace Broker.Ingress.Caching;

/// <summary>
/// <c>type: redis</c>: entries in Redis (one string key per entry with its TTL; only single-key commands, so a
/// Redis Cluster works), on the cache's own connection: <c>host</c>/<c>port</c>/<c>password</c>,
/// <c>redis_startup_nodes</c> (Cluster) or <c>service_name</c> + <c>sentinel_nodes</c> (Sentinel).
/// The connection is made in the background; until it answers every lookup is a miss.
/// </summary>
public sealed class RedisCacheStore(ConfigurationOptions options, string description) : ICacheStore, IAsyncDisposable
{
    private ConnectionMultiplexer? _connection;

    public string Name => "redis " + description;

    public bool IsAvailable => _connection is { IsConnected: true };

    /// <summary>The database once connected (for stores built on this connection), else null.</summary>
    public IDatabase? Database => _connection?.GetDatabase();

    /// <summary>Connects (retrying in the background when the first attempt fails; never throws).</summary>
    public async Task<bool> ConnectAsync()
    {
        try
        {
            _connection = await ConnectionMultiplexer.ConnectAsync(options);
            return _connection.IsConnected;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    public async Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var connection = _connection;
        if (connection is null)
        {
            return null;
        }

        var value = await connection.GetDatabase().StringGetAsync(key);
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        var text = value.ToString();
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline <= 0 || !long.TryParse(text.AsSpan(0, newline), NumberStyles.Integer, CultureInfo.InvariantCulture, out var storedMs))
        {
            return null;
        }

        return new CacheEntry(text[(newline + 1)..], DateTimeOffset.FromUnixTimeMilliseconds(storedMs));
    }

    public async Task SetAsync(string key, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var connection = _connection;
        if (connection is null)
        {
            return;
        }

        var value = entry.StoredAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "\n" + entry.Body;
        await connection.GetDatabase().StringSetAsync(key, value, ttl);
    }

    /// <summary>
    /// The connection settings from cache_params, else LiteLLM's environment (<c>REDIS_HOST</c>, <c>REDIS_PORT</c>,
    /// <c>REDIS_PASSWORD</c>), else <c>REDIS_URL</c>; null when none names a Redis.
    /// </summary>
    public static (ConfigurationOptions Options, string Description)? Configure(CacheParams cache, Func<string, string?> environment, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(environment);
        var options = new ConfigurationOptions();
        var password = cache.Password?.Value;
        if (!string.IsNullOrEmpty(cache.ServiceName) && cache.SentinelNodes.Count > 0)
        {
            options.ServiceName = cache.ServiceName;
            foreach (var node in cache.SentinelNodes)
            {
                options.EndPoints.Add(node);
            }
        }
        else if (cache.RedisStartupNodes.Count > 0)
        {
            foreach (var node in cache.RedisStartupNodes)
            {
                options.EndPoints.Add(node);
            }
        }
        else if (!string.IsNullOrWhiteSpace(cache.Host))
        {
            options.EndPoints.Add(cache.Host, cache.Port ?? 6379);
        }
        else if (environment("REDIS_HOST") is { Length: > 0 } host)
        {
            options.EndPoints.Add(host, int.TryParse(environment("REDIS_PORT"), CultureInfo.InvariantCulture, out var port) ? port : 6379);
            password ??= environment("REDIS_PASSWORD");
        }
        else if (environment("REDIS_URL") is { Length: > 0 } url)
        {
            var parsed = Broker.ServiceDefaults.Redis.RedisOptions.From(null, null, null, url, null).Configuration!;
            options = ConfigurationOptions.Parse(parsed);
            password ??= options.Password;
        }
        else
        {
            return null;
        }

        options.Password = string.IsNullOrEmpty(password) ? null : password;
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 1000;
        options.ConnectRetry = 1;
        options.AsyncTimeout = (int)Math.Max(10, timeout.TotalMilliseconds);
        options.SyncTimeout = options.AsyncTimeout;
        options.ClientName = "broker-cache";
        var description = (options.ServiceName is null ? "" : "sentinel " + options.ServiceName + " via ") +
            string.Join(",", options.EndPoints.Select(e => e.ToString()));
        return (options, description);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}

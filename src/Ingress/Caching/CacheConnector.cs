using Broker.Config;
using Broker.Config.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Caching;

/// <summary>
/// Says at start-up what the response cache does, and connects a Redis cache in the background: start-up never
/// waits for the cache, and requests are misses until it answers.
/// </summary>
public sealed class CacheConnector(ResponseCache cache, IProxyConfigProvider config, TimeProvider timeProvider, ILogger<CacheConnector> logger) : IHostedService
{
    private Task? _connecting;

    /// <summary>How long start-up waits for a Redis cache before going on without it (it keeps connecting).</summary>
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var litellm = config.Current.LitellmSettings;
        var settings = cache.Settings;
        if (!litellm.Cache)
        {
            return;
        }

        if (CacheBackends.Find(settings.Type) is not { } backend)
        {
            Log.TypeNotActive(logger, settings.Type, string.Join(", ", CacheTypeNames.Served));
            return;
        }

        if (cache.Store is null)
        {
            Log.NotConfigured(logger, settings.Type, backend.NotConfigured);
            return;
        }

        Log.Enabled(logger, cache.Store.Name, settings.Ttl.TotalSeconds, settings.Namespace ?? "(none)", settings.DefaultOff ? "default_off" : "default_on");
        var redisStore = cache.Store as RedisCacheStore ?? (cache.Store as RedisSemanticCacheStore)?.Exact;
        if (redisStore is { } redis)
        {
            _connecting = redis.ConnectAsync();
            try
            {
                await _connecting.WaitAsync(StartupWait, timeProvider, cancellationToken);
            }
            catch (TimeoutException)
            {
                // still connecting: lookups are misses until it is done
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_connecting is not null)
        {
            await _connecting.WaitAsync(cancellationToken);
        }

        if ((cache.Store as RedisCacheStore ?? (cache.Store as RedisSemanticCacheStore)?.Exact) is { } redis)
        {
            await redis.DisposeAsync();
        }
        else if (cache.Store is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}

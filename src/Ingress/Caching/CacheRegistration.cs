using Broker.Config;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Broker.ServiceDefaults.Options;

namespace Broker.Ingress.Caching;

public static class CacheRegistration
{
    /// <summary>The response cache (litellm_settings.cache / cache_params) and its host settings (section <c>Cache</c>).</summary>
    public static IHostApplicationBuilder AddResponseCache(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<CacheOptions>("Cache");
        builder.Services.AddSingleton(sp => CacheSettings.From(sp.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings));
        builder.Services.AddSingleton(sp => new ResponseCache(
            sp.GetRequiredService<CacheSettings>(),
            CreateStore(sp, builder.Configuration),
            sp.GetRequiredService<CacheOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<MassTransit.IBus>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ResponseCache>>(),
            LiveCacheSettings.Of(sp.GetRequiredService<IProxyConfigProvider>())));
        builder.Services.AddHttpClient(CacheBackends.QdrantClientName).RemoveAllLoggers();
        builder.Services.AddSingleton<CachedInference>();
        builder.Services.AddHostedService<CacheConnector>();
        builder.Services.AddHealthChecks().AddCheck<CacheHealthCheck>("cache", tags: ["ready"]);
        return builder;
    }

    /// <summary>The store of the configured backend (<see cref="CacheBackends"/>), or null when the cache is off or lacks what it needs.</summary>
    private static ICacheStore? CreateStore(IServiceProvider services, IConfiguration configuration)
    {
        var settings = services.GetRequiredService<CacheSettings>();
        if (!settings.Enabled || CacheBackends.Find(settings.Type) is not { } backend)
        {
            return null;
        }

        var options = services.GetRequiredService<CacheOptions>();
        if (backend.DefaultTimeoutMilliseconds is { } timeout && configuration["Cache:TimeoutMilliseconds"] is null)
        {
            options.TimeoutMilliseconds = timeout;
        }

        var cacheParams = services.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings.CacheParams ?? new();
        return backend.Create(new CacheBackendContext(cacheParams, options, configuration, services));
    }
}

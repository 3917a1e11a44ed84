using Broker.Config;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Broker.ServiceDefaults.Options;

namespace Broker.Ingress.Caching;

public static class CacheRegistration
{
    /// <summary>similarity_threshold when cache_params does not set it.</summary>
    public const double DefaultSimilarityThreshold = 0.8;

    private const string QdrantClientName = "qdrant-cache";

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
        builder.Services.AddHttpClient(QdrantClientName).RemoveAllLoggers();
        builder.Services.AddSingleton<CachedInference>();
        builder.Services.AddHostedService<CacheConnector>();
        builder.Services.AddHealthChecks().AddCheck<CacheHealthCheck>("cache", tags: ["ready"]);
        return builder;
    }

    private static ICacheStore? CreateStore(IServiceProvider services, IConfiguration configuration)
    {
        var settings = services.GetRequiredService<CacheSettings>();
        if (!settings.Enabled)
        {
            return null;
        }

        var options = services.GetRequiredService<CacheOptions>();
        var timeProvider = services.GetRequiredService<TimeProvider>();
        if (settings.Type == "redis")
        {
            var cacheParams = services.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings.CacheParams ?? new();
            var redis = RedisCacheStore.Configure(cacheParams, name => configuration[name], TimeSpan.FromMilliseconds(options.TimeoutMilliseconds));
            return redis is { } r ? new RedisCacheStore(r.Options, r.Description) : null;
        }

        if (settings.Type == "redis-semantic")
        {
            var cacheParams = services.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings.CacheParams ?? new();
            // a lookup embeds the prompt first (a model call): unless set, allow it two seconds before it counts as a miss
            if (configuration["Cache:TimeoutMilliseconds"] is null)
            {
                options.TimeoutMilliseconds = 2000;
            }

            var redis = RedisCacheStore.Configure(cacheParams, name => configuration[name], TimeSpan.FromMilliseconds(Math.Min(options.TimeoutMilliseconds, 1000)));
            if (redis is not { } r || cacheParams.RedisSemanticCacheEmbeddingModel is not { Length: > 0 } model)
            {
                return null;
            }

            var embedder = new PromptEmbedder(services.GetRequiredService<Inference.InferenceClient>(), services.GetRequiredService<IProxyConfigProvider>(), model);
            return new RedisSemanticCacheStore(new RedisCacheStore(r.Options, r.Description), embedder,
                cacheParams.SimilarityThreshold ?? DefaultSimilarityThreshold, Math.Max(1, options.SemanticMaxEntries), timeProvider);
        }

        if (settings.Type == "qdrant-semantic")
        {
            var cacheParams = services.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings.CacheParams ?? new();
            if (configuration["Cache:TimeoutMilliseconds"] is null)
            {
                options.TimeoutMilliseconds = 2000;
            }

            var apiBase = cacheParams.QdrantApiBase ?? configuration["QDRANT_API_BASE"] ?? configuration["QDRANT_URL"];
            if (string.IsNullOrWhiteSpace(apiBase) || cacheParams.QdrantSemanticCacheEmbeddingModel is not { Length: > 0 } model)
            {
                return null;
            }

            var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(QdrantClientName);
            QdrantSemanticCacheStore.Configure(http, apiBase, cacheParams.QdrantApiKey?.Value ?? configuration["QDRANT_API_KEY"]);
            var embedder = new PromptEmbedder(services.GetRequiredService<Inference.InferenceClient>(), services.GetRequiredService<IProxyConfigProvider>(), model);
            return new QdrantSemanticCacheStore(http, string.IsNullOrWhiteSpace(cacheParams.QdrantCollectionName) ? "broker_semantic_cache" : cacheParams.QdrantCollectionName,
                embedder, cacheParams.SimilarityThreshold ?? DefaultSimilarityThreshold, timeProvider);
        }

        if (settings.Type == "s3")
        {
            var cacheParams = services.GetRequiredService<IProxyConfigProvider>().Current.LitellmSettings.CacheParams ?? new();
            // a round trip to S3 takes longer than one to Redis: unless set, allow it a second before it counts as a miss
            if (configuration["Cache:TimeoutMilliseconds"] is null)
            {
                options.TimeoutMilliseconds = 1000;
            }

            return S3CacheStore.Create(cacheParams, TimeSpan.FromMilliseconds(options.TimeoutMilliseconds), timeProvider);
        }

        return new LocalCacheStore(timeProvider, options.LocalMaxEntries, options.LocalMaxChars);
    }
}

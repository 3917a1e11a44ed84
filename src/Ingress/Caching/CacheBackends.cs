using System.Collections.Frozen;
using Broker.Config.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Ingress.Caching;

/// <summary>What a cache backend is built from: cache_params, the host settings (section <c>Cache</c>) and the services.</summary>
public sealed record CacheBackendContext(CacheParams Params, CacheOptions Options, IConfiguration Configuration, IServiceProvider Services)
{
    public TimeProvider TimeProvider => Services.GetRequiredService<TimeProvider>();

    /// <summary>How long one cache call may take (Cache:TimeoutMilliseconds, else the backend's default).</summary>
    public TimeSpan Timeout => TimeSpan.FromMilliseconds(Options.TimeoutMilliseconds);
}

/// <summary>
/// One response-cache backend, keyed by its <c>cache_params.type</c> name (<see cref="CacheTypeNames"/>).
/// </summary>
/// <param name="Name">The cache_params.type it serves.</param>
/// <param name="DefaultTimeoutMilliseconds">Its per-call timeout when Cache:TimeoutMilliseconds is not set; null keeps the host default.</param>
/// <param name="NotConfigured">What the config lacks when <paramref name="Create"/> answers null (logged at start).</param>
/// <param name="Create">The store, or null when cache_params lack what it needs.</param>
public sealed record CacheBackend(string Name, double? DefaultTimeoutMilliseconds, string NotConfigured, Func<CacheBackendContext, ICacheStore?> Create);

/// <summary>The response-cache backends Broker ships, one line each.</summary>
public static class CacheBackends
{
    /// <summary>similarity_threshold when cache_params does not set it.</summary>
    public const double DefaultSimilarityThreshold = 0.8;

    /// <summary>The named HTTP client the Qdrant backend calls through.</summary>
    public const string QdrantClientName = "qdrant-cache";

    public static IReadOnlyList<CacheBackend> BuiltIn { get; } =
    [
        new(CacheTypeNames.Local, null, "",
            c => new LocalCacheStore(c.TimeProvider, c.Options.LocalMaxEntries, c.Options.LocalMaxChars)),
        new(CacheTypeNames.Redis, null, "names no Redis (host, redis_startup_nodes, sentinel_nodes, REDIS_HOST or REDIS_URL)",
            c => RedisCacheStore.Configure(c.Params, name => c.Configuration[name], c.Timeout) is { } r ? new RedisCacheStore(r.Options, r.Description) : null),
        // a round trip to S3 takes longer than one to Redis: a second before it counts as a miss
        new(CacheTypeNames.S3, 1000, "names no bucket (s3_bucket_name)",
            c => S3CacheStore.Create(c.Params, c.Timeout, c.TimeProvider)),
        // a semantic lookup embeds the prompt first (a model call): two seconds before it counts as a miss
        new(CacheTypeNames.RedisSemantic, 2000, "names no redis_semantic_cache_embedding_model or no Redis", RedisSemantic),
        new(CacheTypeNames.QdrantSemantic, 2000, "names no qdrant_semantic_cache_embedding_model or no qdrant_api_base (QDRANT_API_BASE, QDRANT_URL)", QdrantSemantic),
    ];

    private static readonly FrozenDictionary<string, CacheBackend> ByName = BuiltIn.ToFrozenDictionary(b => b.Name, StringComparer.Ordinal);

    /// <summary>The backend serving <paramref name="type"/>, or null when none does.</summary>
    public static CacheBackend? Find(string type) => ByName.GetValueOrDefault(type);

    private static RedisSemanticCacheStore? RedisSemantic(CacheBackendContext c)
    {
        // the exact-match Redis part answers within a second even when embedding may take longer
        var redis = RedisCacheStore.Configure(c.Params, name => c.Configuration[name], TimeSpan.FromMilliseconds(Math.Min(c.Options.TimeoutMilliseconds, 1000)));
        if (redis is not { } r || c.Params.RedisSemanticCacheEmbeddingModel is not { Length: > 0 } model)
        {
            return null;
        }

        return new RedisSemanticCacheStore(new RedisCacheStore(r.Options, r.Description), Embedder(c, model),
            c.Params.SimilarityThreshold ?? DefaultSimilarityThreshold, Math.Max(1, c.Options.SemanticMaxEntries), c.TimeProvider);
    }

    private static QdrantSemanticCacheStore? QdrantSemantic(CacheBackendContext c)
    {
        var apiBase = c.Params.QdrantApiBase ?? c.Configuration["QDRANT_API_BASE"] ?? c.Configuration["QDRANT_URL"];
        if (string.IsNullOrWhiteSpace(apiBase) || c.Params.QdrantSemanticCacheEmbeddingModel is not { Length: > 0 } model)
        {
            return null;
        }

        var http = c.Services.GetRequiredService<IHttpClientFactory>().CreateClient(QdrantClientName);
        QdrantSemanticCacheStore.Configure(http, apiBase, c.Params.QdrantApiKey?.Value ?? c.Configuration["QDRANT_API_KEY"]);
        var collection = string.IsNullOrWhiteSpace(c.Params.QdrantCollectionName) ? "broker_semantic_cache" : c.Params.QdrantCollectionName;
        return new QdrantSemanticCacheStore(http, collection, Embedder(c, model), c.Params.SimilarityThreshold ?? DefaultSimilarityThreshold, c.TimeProvider);
    }

    private static PromptEmbedder Embedder(CacheBackendContext c, string model) =>
        new(c.Services.GetRequiredService<Inference.InferenceClient>(), c.Services.GetRequiredService<Broker.Config.IProxyConfigProvider>(), model);
}

namespace Broker.Ingress.Caching;

/// <summary>
/// What the cache does for one request: its key, whether to look up and whether to store, for how long; with a
/// semantic cache, the prompt to compare by meaning (<paramref name="Semantic"/>).
/// </summary>
public sealed record CachePlan(
    string Key, CacheCallType CallType, string ModelGroup, bool Read, bool Store, TimeSpan Ttl, TimeSpan? MaxAge, SemanticQuery? Semantic = null);

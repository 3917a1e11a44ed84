namespace Broker.Ingress.Caching;

/// <summary>What the cache does for one request: its key, whether to look up and whether to store, for how long.</summary>
public sealed record CachePlan(string Key, CacheCallType CallType, string ModelGroup, bool Read, bool Store, TimeSpan Ttl, TimeSpan? MaxAge);

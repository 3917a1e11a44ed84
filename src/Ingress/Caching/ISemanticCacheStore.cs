namespace Broker.Ingress.Caching;

/// <summary>
/// A cache that answers a prompt with the stored answer of the most similar earlier prompt (cosine similarity of
/// their embeddings at least <c>similarity_threshold</c>). Like every cache call these may throw; <see cref="ResponseCache"/>
/// bounds them in time and turns a failure into a miss.
/// </summary>
public interface ISemanticCacheStore : ICacheStore
{
    Task<CacheEntry?> FindAsync(SemanticQuery query, CancellationToken cancellationToken);

    Task AddAsync(SemanticQuery query, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken);
}

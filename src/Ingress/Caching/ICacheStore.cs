namespace Broker.Ingress.Caching;

/// <summary>
/// Where cached answers live. One key per entry and single-key commands only (a Redis Cluster hashes each key to
/// its own slot). Implementations may throw on a backend failure; <see cref="ResponseCache"/> bounds every call
/// in time and turns any failure into a miss.
/// </summary>
public interface ICacheStore
{
    /// <summary>Short description for logs (<c>local</c>, <c>redis 127.0.0.1:6379</c>).</summary>
    string Name { get; }

    /// <summary>False while the backend is known to be unreachable: calls are skipped (a miss) without waiting.</summary>
    bool IsAvailable { get; }

    Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken);

    Task SetAsync(string key, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken);
}

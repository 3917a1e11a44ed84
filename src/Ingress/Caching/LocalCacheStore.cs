namespace Broker.Ingress.Caching;

/// <summary>
/// <c>type: local</c>: entries in this process's memory, bounded by count and size; the least recently used go
/// first, expired ones are dropped when met. Each Ingress process has its own.
/// </summary>
public sealed class LocalCacheStore(TimeProvider timeProvider, int maxEntries, long maxChars) : ICacheStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<Item>> _items = new(StringComparer.Ordinal);
    private readonly LinkedList<Item> _recency = new();
    private long _chars;

    public string Name => "local";

    public bool IsAvailable => true;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    public Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            if (!_items.TryGetValue(key, out var node))
            {
                return Task.FromResult<CacheEntry?>(null);
            }

            if (node.Value.ExpiresAt <= now)
            {
                Remove(node);
                return Task.FromResult<CacheEntry?>(null);
            }

            _recency.Remove(node);
            _recency.AddFirst(node);
            return Task.FromResult<CacheEntry?>(node.Value.Entry);
        }
    }

    public Task SetAsync(string key, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var size = key.Length + entry.Body.Length;
        if (size > maxChars || maxEntries <= 0)
        {
            return Task.CompletedTask;
        }

        var item = new Item(key, entry, timeProvider.GetUtcNow() + ttl, size);
        lock (_gate)
        {
            if (_items.TryGetValue(key, out var existing))
            {
                Remove(existing);
            }

            var node = _recency.AddFirst(item);
            _items[key] = node;
            _chars += size;
            while ((_items.Count > maxEntries || _chars > maxChars) && _recency.Last is { } oldest)
            {
                Remove(oldest);
            }
        }

        return Task.CompletedTask;
    }

    private void Remove(LinkedListNode<Item> node)
    {
        _recency.Remove(node);
        _items.Remove(node.Value.Key);
        _chars -= node.Value.Size;
    }

    private sealed record Item(string Key, CacheEntry Entry, DateTimeOffset ExpiresAt, long Size);
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Broker.Ingress.Caching;

/// <summary>
/// <c>type: redis-semantic</c> on a Redis without a vector search module (plain Redis 7 here): per scope (namespace,
/// call type, model group) two hashes with one hash tag, so a Cluster keeps them on one slot —
/// <c>…:vectors</c> (id → stored-at, expires-at and the unit-length float32 embedding) and <c>…:answers</c>
/// (id → answer). A lookup reads the scope's vectors and scans them in process (cosine similarity = dot product),
/// so each scope keeps at most <see cref="MaxEntries"/> entries (the oldest go first; Cache:SemanticMaxEntries).
/// Exact-key lookups (embedding requests) use the plain Redis store underneath.
/// </summary>
public sealed class RedisSemanticCacheStore(RedisCacheStore exact, PromptEmbedder embedder, double threshold, int maxEntries, TimeProvider timeProvider)
    : ISemanticCacheStore
{
    private const int HeaderBytes = 16;

    public RedisCacheStore Exact => exact;

    public int MaxEntries => maxEntries;

    public string Name => $"redis-semantic ({exact.Name}, embeddings by {embedder.ModelGroup}, similarity >= {threshold})";

    public bool IsAvailable => exact.IsAvailable;

    public Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => exact.GetAsync(key, cancellationToken);

    public Task SetAsync(string key, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken) => exact.SetAsync(key, entry, ttl, cancellationToken);

    public async Task<CacheEntry?> FindAsync(SemanticQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (exact.Database is not { } db)
        {
            return null;
        }

        var vector = query.Vector ??= await embedder.EmbedAsync(query.Prompt, cancellationToken);
        var (vectorsKey, answersKey) = Keys(query.Scope);
        var entries = await db.HashGetAllAsync(vectorsKey);
        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        string? best = null;
        var bestScore = double.MinValue;
        long bestStored = 0;
        var expired = new List<RedisValue>();
        foreach (var entry in entries)
        {
            byte[]? bytes = entry.Value;
            if (bytes is null || bytes.Length < HeaderBytes)
            {
                continue;
            }

            var stored = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            var expires = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
            if (expires <= now)
            {
                expired.Add(entry.Name);
                continue;
            }

            var score = Dot(vector, bytes.AsSpan(HeaderBytes));
            if (score > bestScore)
            {
                (best, bestScore, bestStored) = (entry.Name.ToString(), score, stored);
            }
        }

        if (expired.Count > 0)
        {
            _ = db.HashDeleteAsync(vectorsKey, [.. expired], CommandFlags.FireAndForget);
            _ = db.HashDeleteAsync(answersKey, [.. expired], CommandFlags.FireAndForget);
        }

        if (best is null || bestScore < threshold)
        {
            return null;
        }

        var answer = await db.HashGetAsync(answersKey, best);
        return answer.IsNullOrEmpty ? null : new CacheEntry(answer.ToString(), DateTimeOffset.FromUnixTimeMilliseconds(bestStored));
    }

    public async Task AddAsync(SemanticQuery query, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(entry);
        if (exact.Database is not { } db)
        {
            return;
        }

        var vector = query.Vector ??= await embedder.EmbedAsync(query.Prompt, cancellationToken);
        var bytes = new byte[HeaderBytes + vector.Length * sizeof(float)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, entry.StoredAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), (entry.StoredAt + ttl).ToUnixTimeMilliseconds());
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(HeaderBytes + i * sizeof(float)), vector[i]);
        }

        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(query.Prompt)), 0, 16);
        var (vectorsKey, answersKey) = Keys(query.Scope);
        await db.HashSetAsync(answersKey, id, entry.Body);
        await db.HashSetAsync(vectorsKey, id, bytes);
        // an idle scope disappears with its newest entry
        await db.KeyExpireAsync(vectorsKey, ttl);
        await db.KeyExpireAsync(answersKey, ttl);
        if (await db.HashLengthAsync(vectorsKey) > maxEntries)
        {
            await TrimAsync(db, vectorsKey, answersKey);
        }
    }

    /// <summary>Drops the oldest entries of a scope beyond <see cref="MaxEntries"/>.</summary>
    private async Task TrimAsync(IDatabase db, RedisKey vectorsKey, RedisKey answersKey)
    {
        var entries = await db.HashGetAllAsync(vectorsKey);
        var oldest = entries
            .Where(e => ((byte[]?)e.Value)?.Length >= HeaderBytes)
            .OrderByDescending(e => BinaryPrimitives.ReadInt64LittleEndian((byte[])e.Value!))
            .Skip(maxEntries)
            .Select(e => e.Name)
            .ToArray();
        if (oldest.Length > 0)
        {
            await db.HashDeleteAsync(vectorsKey, oldest);
            await db.HashDeleteAsync(answersKey, oldest);
        }
    }

    private static double Dot(float[] query, ReadOnlySpan<byte> stored)
    {
        var dimensions = stored.Length / sizeof(float);
        if (dimensions != query.Length)
        {
            return double.MinValue;
        }

        double sum = 0;
        for (var i = 0; i < dimensions; i++)
        {
            sum += query[i] * BinaryPrimitives.ReadSingleLittleEndian(stored[(i * sizeof(float))..]);
        }

        return sum;
    }

    private static (RedisKey Vectors, RedisKey Answers) Keys(string scope)
    {
        var tag = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(scope)), 0, 12);
        return ($"broker-semantic:{{{tag}}}:vectors", $"broker-semantic:{{{tag}}}:answers");
    }
}

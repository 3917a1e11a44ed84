using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Caching;

/// <summary>
/// <c>type: qdrant-semantic</c>: prompt embeddings as points of <c>qdrant_collection_name</c> (cosine distance,
/// created on first use with the embedding's size) through Qdrant's HTTP API at <c>qdrant_api_base</c>
/// (<c>api-key</c> header from <c>qdrant_api_key</c>). A point's payload holds its scope (namespace, call type, model
/// group), the answer and its expiry; a search asks for the nearest point of the same scope at or above
/// <c>similarity_threshold</c>. Embedding requests are not cached by this type (they have no prompt to compare).
/// </summary>
public sealed class QdrantSemanticCacheStore(HttpClient http, string collection, PromptEmbedder embedder, double threshold, TimeProvider timeProvider)
    : ISemanticCacheStore
{
    private int _collectionReady;

    public string Name => $"qdrant-semantic {http.BaseAddress} collection {collection} (embeddings by {embedder.ModelGroup}, similarity >= {threshold})";

    public bool IsAvailable => true;

    public Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => Task.FromResult<CacheEntry?>(null);

    public Task SetAsync(string key, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<CacheEntry?> FindAsync(SemanticQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var vector = query.Vector ??= await embedder.EmbedAsync(query.Prompt, cancellationToken);
        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var search = new JsonObject
        {
            ["vector"] = Vector(vector),
            ["limit"] = 1,
            ["with_payload"] = true,
            ["score_threshold"] = threshold,
            ["filter"] = new JsonObject
            {
                ["must"] = new JsonArray(
                    new JsonObject { ["key"] = "scope", ["match"] = new JsonObject { ["value"] = query.Scope } },
                    new JsonObject { ["key"] = "expires_at", ["range"] = new JsonObject { ["gt"] = now } }),
            },
        };
        using var response = await http.PostAsJsonAsync($"collections/{collection}/points/search", search, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            // no collection yet: nothing stored
            return null;
        }

        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        if (body?["result"] is not JsonArray { Count: > 0 } results || results[0]?["payload"] is not JsonObject payload ||
            results[0]!["score"]?.GetValue<double>() < threshold)
        {
            return null;
        }

        return payload["answer"]?.GetValue<string>() is { } answer
            ? new CacheEntry(answer, DateTimeOffset.FromUnixTimeMilliseconds(payload["stored_at"]?.GetValue<long>() ?? now))
            : null;
    }

    public async Task AddAsync(SemanticQuery query, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(entry);
        var vector = query.Vector ??= await embedder.EmbedAsync(query.Prompt, cancellationToken);
        await EnsureCollectionAsync(vector.Length, cancellationToken);
        // one point per scope and prompt: the same question asked again replaces its answer
        var id = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(query.Scope + "\n" + query.Prompt)).AsSpan(0, 16)).ToString();
        var upsert = new JsonObject
        {
            ["points"] = new JsonArray(new JsonObject
            {
                ["id"] = id,
                ["vector"] = Vector(vector),
                ["payload"] = new JsonObject
                {
                    ["scope"] = query.Scope,
                    ["answer"] = entry.Body,
                    ["stored_at"] = entry.StoredAt.ToUnixTimeMilliseconds(),
                    ["expires_at"] = (entry.StoredAt + ttl).ToUnixTimeMilliseconds(),
                },
            }),
        };
        using var response = await http.PutAsJsonAsync($"collections/{collection}/points?wait=true", upsert, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    private async Task EnsureCollectionAsync(int size, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _collectionReady) == 1)
        {
            return;
        }

        using var existing = await http.GetAsync($"collections/{collection}", cancellationToken);
        if (existing.StatusCode == HttpStatusCode.NotFound)
        {
            var create = new JsonObject { ["vectors"] = new JsonObject { ["size"] = size, ["distance"] = "Cosine" } };
            using var created = await http.PutAsJsonAsync($"collections/{collection}", create, cancellationToken);
            // another Ingress may have created it meanwhile
            if (created.StatusCode != HttpStatusCode.Conflict)
            {
                created.EnsureSuccessStatusCode();
            }
        }
        else
        {
            existing.EnsureSuccessStatusCode();
        }

        Volatile.Write(ref _collectionReady, 1);
    }

    private static JsonArray Vector(float[] vector) => new(vector.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());

    /// <summary>The HTTP client settings for cache_params: base address and api-key header.</summary>
    public static void Configure(HttpClient http, string apiBase, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.BaseAddress = new Uri(apiBase.TrimEnd('/') + "/");
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Add("api-key", apiKey);
        }
    }
}

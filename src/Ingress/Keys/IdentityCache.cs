using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Broker.Contracts.Billing;
using Broker.Ingress.Auth;
using Broker.ServiceDefaults.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.Ingress.Keys;

/// <summary>
/// Keys, users and teams for the request path: this process's copy (fresh for <see cref="AuthOptions.KeyCacheSeconds"/>),
/// then the shared Redis copy, then PostgreSQL with a short timeout. When the database does not answer, the last copy
/// this process saw is returned marked stale (for <c>allow_requests_on_db_unavailable</c>); nothing waits on it for long.
/// Updates and deletes drop copies everywhere (<see cref="InvalidateAsync"/>); Billing's spend totals update them in place.
/// </summary>
public sealed class IdentityCache(IIdentityStore repository, BrokerRedis redis, AuthOptions options, TimeProvider time, ILogger<IdentityCache> logger)
{
    private static readonly TimeSpan NegativeTtl = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<string, Entry> _local = new(StringComparer.Ordinal);
    private ProxyTotal? _proxy;
    private long _databaseDownUntil;
    private int _databaseDown;

    public bool IsConfigured => repository.IsConfigured;

    public Task<Lookup<KeyRecord>> GetKeyAsync(string tokenHash, CancellationToken ct) =>
        GetAsync("key", tokenHash, KeysJsonContext.Default.KeyRecord, repository.GetKeyAsync, ct);

    public Task<Lookup<UserRecord>> GetUserAsync(string userId, CancellationToken ct) =>
        GetAsync("user", userId, KeysJsonContext.Default.UserRecord, repository.GetUserAsync, ct);

    public Task<Lookup<TeamRecord>> GetTeamAsync(string teamId, CancellationToken ct) =>
        GetAsync("team", teamId, KeysJsonContext.Default.TeamRecord, repository.GetTeamAsync, ct);

    /// <summary>Drops this process's and Redis's copies of the entities (called on every instance for each change).</summary>
    public Task InvalidateAsync(string entityType, IEnumerable<string> ids)
    {
        var keys = new List<RedisKey>();
        foreach (var id in ids)
        {
            _local.TryRemove(CacheKey(entityType, id), out _);
            keys.Add(RedisKeyOf(entityType, id));
        }

        return DeleteFromRedisAsync(keys);
    }

    /// <summary>Billing's new totals: cached copies take the new spend and reset time; Redis copies are dropped.</summary>
    public Task ApplySpendAsync(IEnumerable<EntitySpend> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var keys = new List<RedisKey>();
        foreach (var total in totals)
        {
            if (total.EntityType == "proxy")
            {
                var proxy = Volatile.Read(ref _proxy);
                if (proxy is null || IsNewer(total, proxy.Spend, proxy.BudgetResetAt))
                {
                    Volatile.Write(ref _proxy, new ProxyTotal(total.Spend, total.BudgetResetAt, FreshUntil(options.KeyCacheSeconds)));
                }

                continue;
            }

            if (total.EntityType is not ("key" or "user" or "team"))
            {
                continue;
            }

            var cacheKey = CacheKey(total.EntityType, total.EntityId);
            if (_local.TryGetValue(cacheKey, out var entry) && entry.Value is not null)
            {
                // events can arrive out of order (concurrent handlers, several Billing processes): never go back
                object updated = entry.Value switch
                {
                    KeyRecord k when IsNewer(total, k.Spend, k.BudgetResetAt) => k with { Spend = total.Spend, BudgetResetAt = total.BudgetResetAt ?? k.BudgetResetAt },
                    UserRecord u when IsNewer(total, u.Spend, u.BudgetResetAt) => u with { Spend = total.Spend, BudgetResetAt = total.BudgetResetAt ?? u.BudgetResetAt },
                    TeamRecord t when IsNewer(total, t.Spend, t.BudgetResetAt) => t with { Spend = total.Spend, BudgetResetAt = total.BudgetResetAt ?? t.BudgetResetAt },
                    _ => entry.Value,
                };
                _local.TryUpdate(cacheKey, entry with { Value = updated }, entry);
            }

            keys.Add(RedisKeyOf(total.EntityType, total.EntityId));
        }

        return DeleteFromRedisAsync(keys);
    }

    /// <summary>
    /// The proxy-wide spend and its reset time (for litellm_settings.max_budget): Billing's totals as they come, else read
    /// from PostgreSQL at most every <see cref="AuthOptions.KeyCacheSeconds"/>; the last known value (or null) while the
    /// database does not answer.
    /// </summary>
    public async Task<(decimal Spend, DateTimeOffset? BudgetResetAt)?> GetProxySpendAsync(CancellationToken ct)
    {
        var cached = Volatile.Read(ref _proxy);
        var now = time.GetTimestamp();
        if ((cached is not null && now < cached.FreshUntil) || !repository.IsConfigured || now < Volatile.Read(ref _databaseDownUntil))
        {
            return cached is null ? null : (cached.Spend, cached.BudgetResetAt);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.DatabaseTimeoutSeconds));
            var read = await repository.GetProxySpendAsync(timeout.Token).WaitAsync(TimeSpan.FromSeconds(options.DatabaseTimeoutSeconds), time, ct);
            var loaded = new ProxyTotal(read?.Spend ?? 0m, read?.BudgetResetAt, FreshUntil(options.KeyCacheSeconds));
            // a total from Billing that arrived during the read is newer than the row read
            Interlocked.CompareExchange(ref _proxy, loaded, cached);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException
                                   || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            Log.ProxySpendUnavailable(logger, ex.Message);
        }

        var current = Volatile.Read(ref _proxy);
        return current is null ? null : (current.Spend, current.BudgetResetAt);
    }

    private long FreshUntil(double seconds) => time.GetTimestamp() + (long)(seconds * time.TimestampFrequency);

    /// <summary>
    /// Whether a spend total is at least as recent as the cached one: within a budget period spend only grows; a later
    /// <c>budget_reset_at</c> is a new period (a reset to 0), an earlier one a late event from the previous period.
    /// </summary>
    internal static bool IsNewer(EntitySpend total, decimal cachedSpend, DateTimeOffset? cachedResetAt) =>
        (total.BudgetResetAt, cachedResetAt) switch
        {
            ({ } incoming, { } cached) when incoming != cached => incoming > cached,
            ({ }, null) => true,
            _ => total.Spend >= cachedSpend,
        };

    private async Task<Lookup<T>> GetAsync<T>(
        string type, string id, JsonTypeInfo<T> json, Func<string, CancellationToken, Task<T?>> load, CancellationToken ct)
        where T : class
    {
        var cacheKey = CacheKey(type, id);
        var now = time.GetTimestamp();
        _local.TryGetValue(cacheKey, out var cached);
        if (cached is not null && now < cached.FreshUntil)
        {
            return new Lookup<T>((T?)cached.Value, false, false);
        }

        if (await FromRedisAsync(type, id, json) is { } shared)
        {
            Remember(cacheKey, shared, options.KeyCacheSeconds);
            return new Lookup<T>(shared, false, false);
        }

        if (!repository.IsConfigured)
        {
            return new Lookup<T>(null, false, false);
        }

        if (now < Volatile.Read(ref _databaseDownUntil))
        {
            return new Lookup<T>((T?)cached?.Value, true, true);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.DatabaseTimeoutSeconds));
            var record = await load(id, timeout.Token).WaitAsync(TimeSpan.FromSeconds(options.DatabaseTimeoutSeconds), time, ct);
            if (Interlocked.Exchange(ref _databaseDown, 0) == 1)
            {
                Log.DatabaseBack(logger);
            }

            Remember(cacheKey, record, record is null ? NegativeTtl.TotalSeconds : options.KeyCacheSeconds);
            if (record is not null)
            {
                await ToRedisAsync(type, id, record, json);
            }

            return new Lookup<T>(record, false, false);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException
                                   || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            Volatile.Write(ref _databaseDownUntil, time.GetTimestamp() + (long)(options.DatabaseRetrySeconds * time.TimestampFrequency));
            if (Interlocked.Exchange(ref _databaseDown, 1) == 0)
            {
                Log.DatabaseDown(logger, ex.GetType().Name);
            }

            return new Lookup<T>((T?)cached?.Value, true, true);
        }
    }

    private void Remember(string cacheKey, object? value, double seconds) =>
        _local[cacheKey] = new Entry(value, time.GetTimestamp() + (long)(seconds * time.TimestampFrequency));

    private async Task<T?> FromRedisAsync<T>(string type, string id, JsonTypeInfo<T> json)
        where T : class
    {
        if (redis.Available() is not { } db)
        {
            return null;
        }

        try
        {
            var value = await db.StringGetAsync(RedisKeyOf(type, id));
            return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize((string)value!, json);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException)
        {
            redis.ReportFailure(ex);
            return null;
        }
    }

    private async Task ToRedisAsync<T>(string type, string id, T record, JsonTypeInfo<T> json)
    {
        if (redis.Available() is not { } db)
        {
            return;
        }

        try
        {
            await db.StringSetAsync(RedisKeyOf(type, id), JsonSerializer.Serialize(record, json), TimeSpan.FromSeconds(options.RedisCacheSeconds));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
        }
    }

    private async Task DeleteFromRedisAsync(List<RedisKey> keys)
    {
        if (keys.Count == 0 || redis.Available() is not { } db)
        {
            return;
        }

        try
        {
            await db.KeyDeleteAsync(keys.ToArray());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
        }
    }

    private static string CacheKey(string type, string id) => type + ":" + id;

    private RedisKey RedisKeyOf(string type, string id) => $"{redis.Options.KeyPrefix}:identity:{type}:{id}";

    private sealed record Entry(object? Value, long FreshUntil);

    private sealed record ProxyTotal(decimal Spend, DateTimeOffset? BudgetResetAt, long FreshUntil);
}

using System.Collections.Concurrent;
using System.Text.Json;
using Broker.Config;
using Broker.ServiceDefaults.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.ServiceDefaults.Health;

/// <summary>
/// The latest background health check of every deployment (general_settings.background_health_checks), shared
/// through Redis when there is one (one hash, <c>{prefix}:{health}:deployments</c>, expiring after a few intervals),
/// else within this process. Routing asks <see cref="IsUnhealthy"/> on every request: it answers from memory and
/// refreshes from Redis in the background at most every few seconds, so no request waits on Redis for it.
/// Results older than <see cref="Ttl"/> are forgotten (a deployment nobody checks any more counts as healthy).
/// </summary>
public sealed class DeploymentHealthBoard(BrokerRedis redis, IProxyConfigProvider config, TimeProvider timeProvider, ILogger<DeploymentHealthBoard> logger)
{
    /// <summary>LiteLLM's default health_check_interval.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(300);

    private static readonly TimeSpan MaxRefreshEvery = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, DeploymentHealth> _own = new(StringComparer.Ordinal);
    private volatile Dictionary<string, DeploymentHealth> _snapshot = new Dictionary<string, DeploymentHealth>(StringComparer.Ordinal);
    private long _snapshotTimestamp;
    private int _refreshing;

    /// <summary>general_settings.background_health_checks.</summary>
    public bool Enabled => config.Current.GeneralSettings.BackgroundHealthChecks;

    /// <summary>general_settings.health_check_interval (default 300 s).</summary>
    public TimeSpan Interval => config.Current.GeneralSettings.HealthCheckInterval is { } i && i > TimeSpan.Zero ? i : DefaultInterval;

    /// <summary>How long a result counts: three intervals, so one missed round does not forget a deployment's state.</summary>
    public TimeSpan Ttl => Interval * 3;

    /// <summary>Whether the latest check of the deployment failed (false when it was never checked or the result is stale).</summary>
    public bool IsUnhealthy(string modelGroup, string deploymentId)
    {
        if (!Enabled)
        {
            return false;
        }

        RefreshIfStale();
        return _snapshot.TryGetValue(Field(modelGroup, deploymentId), out var health) && !health.Healthy && IsFresh(health);
    }

    /// <summary>The fresh results known in memory now (for metrics); refreshed from Redis in the background.</summary>
    public IReadOnlyList<DeploymentHealth> Latest()
    {
        if (!Enabled)
        {
            return [];
        }

        RefreshIfStale();
        return _snapshot.Values.Where(IsFresh).ToList();
    }

    private void RefreshIfStale()
    {
        var refreshEvery = Interval < MaxRefreshEvery ? Interval : MaxRefreshEvery;
        if (redis.IsConfigured && timeProvider.GetElapsedTime(Volatile.Read(ref _snapshotTimestamp)) > refreshEvery &&
            Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            _ = RefreshAsync();
        }
    }

    /// <summary>Every fresh result, this process's and (with Redis) every other's; the newest per deployment.</summary>
    public async Task<IReadOnlyList<DeploymentHealth>> ReadAsync(CancellationToken cancellationToken)
    {
        var shared = new Dictionary<string, DeploymentHealth>(StringComparer.Ordinal);
        if (redis.Available() is { } db)
        {
            try
            {
                var entries = await db.HashGetAllAsync(Key).WaitAsync(cancellationToken);
                foreach (var entry in entries)
                {
                    if (Parse(entry.Value) is { } health)
                    {
                        shared[entry.Name.ToString()] = health;
                    }
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        Dictionary<string, DeploymentHealth> fresh;
        lock (_gate)
        {
            // this process's own results as they are now (a check may have finished during the read), unless Redis has newer
            foreach (var (field, mine) in _own)
            {
                if (!shared.TryGetValue(field, out var theirs) || theirs.CheckedAt < mine.CheckedAt)
                {
                    shared[field] = mine;
                }
            }

            fresh = shared.Where(e => IsFresh(e.Value)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            _snapshot = fresh;
        }

        Volatile.Write(ref _snapshotTimestamp, timeProvider.GetTimestamp());
        return fresh.Values.OrderBy(h => h.ModelGroup, StringComparer.Ordinal).ThenBy(h => h.DeploymentId, StringComparer.Ordinal).ToList();
    }

    /// <summary>Records one check here and, with Redis, for every process.</summary>
    public async Task ReportAsync(DeploymentHealth health, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(health);
        var field = Field(health.ModelGroup, health.DeploymentId);
        lock (_gate)
        {
            // checks finish concurrently: one at a time, so none replaces the snapshot without another's result
            _own[field] = health;
            _snapshot = new Dictionary<string, DeploymentHealth>(_snapshot, StringComparer.Ordinal) { [field] = health };
        }

        if (redis.Available() is not { } db)
        {
            return;
        }

        try
        {
            await db.HashSetAsync(Key, field, JsonSerializer.Serialize(health)).WaitAsync(cancellationToken);
            await db.KeyExpireAsync(Key, Ttl).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
            Log.NotShared(logger, ex.Message);
        }
    }

    /// <summary>
    /// Whether this process should check <paramref name="modelGroup"/> this round: with Redis, only the first process
    /// to ask within an interval does (so replicas do not multiply the probe calls); without Redis, always.
    /// </summary>
    public async Task<bool> TryClaimRoundAsync(string modelGroup, CancellationToken cancellationToken)
    {
        if (redis.Available() is not { } db)
        {
            return true;
        }

        try
        {
            var key = $"{redis.Options.KeyPrefix}:{{health}}:round:{modelGroup}";
            return await db.StringSetAsync(key, "1", Interval * 0.9, When.NotExists).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
            return true;
        }
    }

    private string Key => $"{redis.Options.KeyPrefix}:{{health}}:deployments";

    private static string Field(string modelGroup, string deploymentId) => modelGroup + "\n" + deploymentId;

    private bool IsFresh(DeploymentHealth health) => timeProvider.GetUtcNow() - health.CheckedAt < Ttl;

    private async Task RefreshAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), timeProvider);
            await ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // next call tries again
        }
        finally
        {
            Volatile.Write(ref _snapshotTimestamp, timeProvider.GetTimestamp());
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private static DeploymentHealth? Parse(RedisValue value)
    {
        try
        {
            return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<DeploymentHealth>(value.ToString());
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

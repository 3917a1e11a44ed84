using System.Collections.Concurrent;
using System.Globalization;
using Broker.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Broker.Ingress.Auth;

/// <summary>
/// rpm_limit, tpm_limit and max_parallel_requests of keys, users and teams, held across every Ingress instance in
/// Redis (per-minute counters and an in-flight counter per entity); in this process's memory when Redis is absent.
/// tpm is a reservation: a request is let in while the minute's tokens (used and reserved) are below the limit, and adds
/// its estimated tokens at once; when it ends, <see cref="SettleTokensAsync"/> replaces the estimate with what the answer used.
/// </summary>
public sealed class RateLimiter(BrokerRedis redis, TimeProvider time)
{
    private static readonly TimeSpan ParallelTtl = TimeSpan.FromMinutes(15);
    private readonly ConcurrentDictionary<string, long> _local = new(StringComparer.Ordinal);
    private long _lastMinute;

    public async Task<RateLimitDecision> AcquireAsync(IReadOnlyList<LimitScope> scopes, long estimatedTokens = 0)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        PruneLocal(minute);
        var retryAfter = 60 - (time.GetUtcNow().ToUnixTimeSeconds() % 60);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var counted = new List<(string Key, long By)>();
        var held = new List<LimitScope>();
        long? remainingRequests = null;
        long? remainingTokens = null;
        foreach (var scope in scopes.Where(s => s.HasLimits))
        {
            if (scope.TpmLimit is { } tpm)
            {
                // reserve first, then look at what was there before: concurrent requests each see the others' reservations
                var tokensKey = TokensKey(scope, minute);
                var reserve = Math.Max(0, estimatedTokens);
                var used = reserve > 0 ? await IncrementAsync(tokensKey, reserve, TimeSpan.FromMinutes(2)) - reserve : await GetAsync(tokensKey);
                if (reserve > 0)
                {
                    counted.Add((tokensKey, reserve));
                }

                var left = Math.Max(0, tpm - used);
                if (remainingTokens is null || left < remainingTokens)
                {
                    remainingTokens = left;
                    headers["x-ratelimit-limit-tokens"] = tpm.ToString(CultureInfo.InvariantCulture);
                    headers["x-ratelimit-remaining-tokens"] = left.ToString(CultureInfo.InvariantCulture);
                }

                if (used >= tpm)
                {
                    await RollBackAsync(counted);
                    return Refused(scope, $"current tpm: {used}, tpm limit: {tpm}", retryAfter, headers);
                }
            }

            if (scope.RpmLimit is { } rpm)
            {
                var key = RequestsKey(scope, minute);
                var count = await IncrementAsync(key, 1, TimeSpan.FromMinutes(2));
                counted.Add((key, 1));
                var left = Math.Max(0, rpm - count);
                if (remainingRequests is null || left < remainingRequests)
                {
                    remainingRequests = left;
                    headers["x-ratelimit-limit-requests"] = rpm.ToString(CultureInfo.InvariantCulture);
                    headers["x-ratelimit-remaining-requests"] = left.ToString(CultureInfo.InvariantCulture);
                }

                if (count > rpm)
                {
                    await RollBackAsync(counted);
                    headers["x-ratelimit-remaining-requests"] = "0";
                    return Refused(scope, $"current rpm: {count - 1}, rpm limit: {rpm}", retryAfter, headers);
                }
            }

            if (scope.MaxParallelRequests is { } parallel)
            {
                var key = ParallelKey(scope);
                var count = await IncrementAsync(key, 1, ParallelTtl);
                counted.Add((key, 1));
                if (count > parallel)
                {
                    await RollBackAsync(counted);
                    return Refused(scope, $"current max_parallel_requests: {count - 1}, max_parallel_requests: {parallel}", 1, headers);
                }

                held.Add(scope);
            }
        }

        return new RateLimitDecision(null, 0, headers, held, Math.Max(0, estimatedTokens), minute);
    }

    /// <summary>The request ended: its in-flight slots are free again.</summary>
    public async Task ReleaseAsync(IReadOnlyList<LimitScope> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        foreach (var scope in held)
        {
            await IncrementAsync(ParallelKey(scope), -1, ParallelTtl);
        }
    }

    /// <summary>
    /// The request ended: its reserved tokens are replaced by what the answer used (0 when it failed), counted against
    /// every scope's tpm_limit in the current minute.
    /// </summary>
    public async Task SettleTokensAsync(IReadOnlyList<LimitScope> scopes, RateLimitDecision decision, long tokens)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(decision);
        tokens = Math.Max(0, tokens);
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        foreach (var scope in scopes.Where(s => s.TpmLimit is not null))
        {
            if (decision.ReservedTokens > 0 && decision.Minute == minute)
            {
                if (tokens != decision.ReservedTokens)
                {
                    await IncrementAsync(TokensKey(scope, minute), tokens - decision.ReservedTokens, TimeSpan.FromMinutes(2));
                }

                continue;
            }

            // reserved in an earlier minute (whose counter expires by itself after two): give it back there while it counts
            if (decision.ReservedTokens > 0 && decision.Minute == minute - 1)
            {
                await IncrementAsync(TokensKey(scope, decision.Minute), -decision.ReservedTokens, null);
            }

            if (tokens > 0)
            {
                await IncrementAsync(TokensKey(scope, minute), tokens, TimeSpan.FromMinutes(2));
            }
        }
    }

    /// <summary>Once a minute, this process's own per-minute counters of earlier minutes go.</summary>
    private void PruneLocal(long minute)
    {
        var last = Interlocked.Exchange(ref _lastMinute, minute);
        if (last == minute || _local.IsEmpty)
        {
            return;
        }

        var current = ":" + minute.ToString(CultureInfo.InvariantCulture);
        foreach (var key in _local.Keys)
        {
            if (!key.StartsWith("ratelimit:parallel:", StringComparison.Ordinal) && !key.EndsWith(current, StringComparison.Ordinal))
            {
                _local.TryRemove(key, out _);
            }
        }
    }

    private static RateLimitDecision Refused(LimitScope scope, string detail, double retryAfter, Dictionary<string, string> headers) =>
        new($"LiteLLM Rate Limit Handler for rate limit type = {scope.Type}. Crossed TPM / RPM / Max Parallel Request Limit. {detail}",
            retryAfter, headers, []);

    private async Task RollBackAsync(List<(string Key, long By)> counted)
    {
        foreach (var (key, by) in counted)
        {
            await IncrementAsync(key, -by, null);
        }
    }

    private async Task<long> IncrementAsync(string key, long by, TimeSpan? ttl)
    {
        if (redis.Available() is { } db)
        {
            try
            {
                var redisKey = (RedisKey)$"{redis.Options.KeyPrefix}:{key}";
                var value = await db.StringIncrementAsync(redisKey, by);
                if (ttl is { } t && by > 0)
                {
                    _ = db.KeyExpireAsync(redisKey, t, CommandFlags.FireAndForget);
                }

                return value;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        return _local.AddOrUpdate(key, by, (_, v) => v + by);
    }

    private async Task<long> GetAsync(string key)
    {
        if (redis.Available() is { } db)
        {
            try
            {
                var value = await db.StringGetAsync($"{redis.Options.KeyPrefix}:{key}");
                return value.TryParse(out long n) ? n : 0;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        return _local.TryGetValue(key, out var local) ? local : 0;
    }

    private static string RequestsKey(LimitScope s, long minute) => $"ratelimit:rpm:{s.Type}:{s.Id}:{minute}";

    private static string TokensKey(LimitScope s, long minute) => $"ratelimit:tpm:{s.Type}:{s.Id}:{minute}";

    private static string ParallelKey(LimitScope s) => $"ratelimit:parallel:{s.Type}:{s.Id}";
}

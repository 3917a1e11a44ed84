using System.Globalization;
using Broker.Config.Model;
using Broker.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Broker.Workers.RateLimits;

/// <summary>
/// The routing state every worker process shares, in Redis. One script per deployment per step, each atomic and on
/// one hash slot: read (all deployments of a group, pipelined), acquire, release; for a group of one deployment, read
/// and acquire are one script. Minutes come from the caller's
/// <see cref="TimeProvider"/>; counters expire two minutes after their minute; in-flight entries expire at the
/// request's deadline, so a crashed worker's slots come back on their own.
/// Throws <see cref="RedisException"/> / <see cref="TimeoutException"/>; <see cref="RoutingState"/> handles them.
/// </summary>
public sealed class RedisRoutingStore(IDatabase db, string prefix, TimeProvider timeProvider) : IRoutingStore
{
    private const int WindowTtlSeconds = 120;

    // KEYS: inflight, rpm, tpm, latency, cooldown. ARGV: now ms
    private const string ReadScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        return {redis.call('ZCARD', KEYS[1]), redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3]) or '0',
                redis.call('GET', KEYS[4]) or '', redis.call('PTTL', KEYS[5])}
        """;

    // KEYS: inflight, rpm, tpm. ARGV: now ms, lease, expires ms, max parallel, rpm, tpm (0 = none), window ttl s
    private const string AcquireScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        local p = tonumber(ARGV[4])
        if p > 0 and redis.call('ZCARD', KEYS[1]) >= p then return 1 end
        local r = tonumber(ARGV[5])
        if r > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= r then return 2 end
        local t = tonumber(ARGV[6])
        if t > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= t then return 3 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
        redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[3]) - tonumber(ARGV[1]), 0) + 60000)
        redis.call('INCR', KEYS[2])
        redis.call('EXPIRE', KEYS[2], ARGV[7])
        return 0
        """;

    // a group of one deployment: its cooldown, then AcquireScript, in one round trip; answers {outcome, cooldown ms left}
    // KEYS: inflight, rpm, tpm, cooldown. ARGV: as AcquireScript's, then 1 = honour the cooldown
    private const string AcquireSoleScript = """
        if ARGV[8] == '1' then
          local left = redis.call('PTTL', KEYS[4])
          if left > 0 then return {4, left} end
        end
        local outcome = (function()
        """ + "\n" + AcquireScript + "\n" + """
        end)()
        return {outcome, 0}
        """;

    // KEYS: global inflight. ARGV: now ms, lease, expires ms, limit
    private const string AcquireGlobalScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
        redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[3]) - tonumber(ARGV[1]), 0) + 60000)
        return 0
        """;

    // KEYS: inflight, tpm, latency, successes, failures, failures of class.
    // ARGV: lease, tokens, latency ms (-1 none), outcome (0 success, 1 counted failure, 2 neither), window ttl s, smoothing
    private const string ReleaseScript = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        local tokens = tonumber(ARGV[2])
        if tokens > 0 then
          redis.call('INCRBY', KEYS[2], tokens)
          redis.call('EXPIRE', KEYS[2], ARGV[5])
        end
        local latency = tonumber(ARGV[3])
        if latency >= 0 then
          local old = tonumber(redis.call('GET', KEYS[3]) or '-1')
          local a = tonumber(ARGV[6])
          if old >= 0 then latency = old * (1 - a) + latency * a end
          redis.call('SET', KEYS[3], tostring(latency), 'EX', 3600)
        end
        local ok = 0
        local fails = 0
        local ofClass = 0
        if ARGV[4] == '0' then
          ok = redis.call('INCR', KEYS[4])
          redis.call('EXPIRE', KEYS[4], ARGV[5])
          fails = tonumber(redis.call('GET', KEYS[5]) or '0')
        elseif ARGV[4] == '1' then
          fails = redis.call('INCR', KEYS[5])
          redis.call('EXPIRE', KEYS[5], ARGV[5])
          ofClass = redis.call('INCR', KEYS[6])
          redis.call('EXPIRE', KEYS[6], ARGV[5])
          ok = tonumber(redis.call('GET', KEYS[4]) or '0')
        end
        return {ok, fails, ofClass}
        """;

    public async Task<IReadOnlyList<DeploymentLoad>> ReadAsync(ModelGroup group, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        var now = timeProvider.GetUtcNow();
        var minute = LocalRoutingStore.MinuteOf(now);
        var nowMs = (RedisValue)now.ToUnixTimeMilliseconds();
        var reads = new Task<RedisResult>[group.Deployments.Count];
        for (var i = 0; i < reads.Length; i++)
        {
            var id = group.Deployments[i].Id;
            reads[i] = db.ScriptEvaluateAsync(ReadScript,
                [Key(group.Name, id, "inflight"), Key(group.Name, id, $"rpm:{minute}"), Key(group.Name, id, $"tpm:{minute}"),
                 Key(group.Name, id, "latency"), RoutingKeys.Cooldown(prefix, group.Name, id)],
                [nowMs]);
        }

        await Task.WhenAll(reads).WaitAsync(cancellationToken);
        var loads = new DeploymentLoad[reads.Length];
        for (var i = 0; i < reads.Length; i++)
        {
            var values = (RedisResult[])reads[i].Result!;
            var latencyText = (string?)values[3];
            var cooldownMs = (long)values[4];
            loads[i] = new DeploymentLoad(
                group.Deployments[i],
                (int)values[0],
                long.Parse((string)values[1]!, CultureInfo.InvariantCulture),
                long.Parse((string)values[2]!, CultureInfo.InvariantCulture),
                string.IsNullOrEmpty(latencyText) ? null : double.Parse(latencyText, CultureInfo.InvariantCulture),
                cooldownMs > 0 ? TimeSpan.FromMilliseconds(cooldownMs) : null);
        }

        return loads;
    }

    public async Task<AcquireOutcome> TryAcquireAsync(
        string group, ModelDeployment deployment, DeploymentLimits limits, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(limits);
        var (keys, args) = AcquireCall(group, deployment.Id, limits, leaseId, expires);
        var result = await db.ScriptEvaluateAsync(AcquireScript, keys, args).WaitAsync(cancellationToken);
        return (AcquireOutcome)(int)result;
    }

    public async Task<SoleAcquire> TryAcquireSoleAsync(
        ModelGroup group, DeploymentLimits limits, string leaseId, DateTimeOffset expires, bool honourCooldown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(limits);
        var id = group.Deployments.Single().Id;
        var (keys, args) = AcquireCall(group.Name, id, limits, leaseId, expires);
        var result = await db.ScriptEvaluateAsync(AcquireSoleScript,
            [.. keys, RoutingKeys.Cooldown(prefix, group.Name, id)], [.. args, honourCooldown ? 1 : 0]).WaitAsync(cancellationToken);
        var values = (RedisResult[])result!;
        var left = (long)values[1];
        return new SoleAcquire((AcquireOutcome)(int)values[0], left > 0 ? TimeSpan.FromMilliseconds(left) : null);
    }

    public async Task<bool> TryAcquireGlobalAsync(int limit, string leaseId, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        var result = await db.ScriptEvaluateAsync(AcquireGlobalScript, [RoutingKeys.GlobalInFlight(prefix)],
            [timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), leaseId, expires.ToUnixTimeMilliseconds(), limit]).WaitAsync(cancellationToken);
        return (int)result == 0;
    }

    public Task ReleaseGlobalAsync(string leaseId, CancellationToken cancellationToken) =>
        db.SortedSetRemoveAsync(RoutingKeys.GlobalInFlight(prefix), leaseId).WaitAsync(cancellationToken);

    public async Task<FailureCounts> ReleaseAsync(string group, ModelDeployment deployment, string leaseId, RequestOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(outcome);
        var minute = LocalRoutingStore.MinuteOf(timeProvider.GetUtcNow());
        var id = deployment.Id;
        var kind = outcome.Succeeded ? "0" : outcome.FailureClass is null ? "2" : "1";
        var result = await db.ScriptEvaluateAsync(ReleaseScript,
            [Key(group, id, "inflight"), Key(group, id, $"tpm:{minute}"), Key(group, id, "latency"),
             Key(group, id, $"ok:{minute}"), Key(group, id, $"fail:{minute}"), Key(group, id, $"fail:{outcome.FailureClass?.ToString() ?? "none"}:{minute}")],
            [leaseId, Math.Max(0, outcome.Tokens), outcome.LatencyMs ?? -1, kind, WindowTtlSeconds, LocalRoutingStore.LatencySmoothing]).WaitAsync(cancellationToken);
        var values = (RedisResult[])result!;
        return new FailureCounts((long)values[0], (long)values[1], (long)values[2]);
    }

    public Task<bool> StartCooldownAsync(string group, string deploymentId, TimeSpan duration, string reason, CancellationToken cancellationToken) =>
        db.StringSetAsync(RoutingKeys.Cooldown(prefix, group, deploymentId), reason, duration, When.NotExists).WaitAsync(cancellationToken);

    public Task<IReadOnlyList<ActiveCooldown>> ListCooldownsAsync(
        IReadOnlyCollection<(string ModelGroup, string DeploymentId)> deployments, CancellationToken cancellationToken) =>
        throw new NotSupportedException("RoutingState lists cooldowns through RedisCooldownView");

    /// <summary>AcquireScript's keys and arguments for one deployment, now.</summary>
    private (RedisKey[] Keys, RedisValue[] Args) AcquireCall(string group, string deploymentId, DeploymentLimits limits, string leaseId, DateTimeOffset expires)
    {
        var now = timeProvider.GetUtcNow();
        var minute = LocalRoutingStore.MinuteOf(now);
        return (
            [Key(group, deploymentId, "inflight"), Key(group, deploymentId, $"rpm:{minute}"), Key(group, deploymentId, $"tpm:{minute}")],
            [now.ToUnixTimeMilliseconds(), leaseId, expires.ToUnixTimeMilliseconds(),
             limits.MaxParallel ?? 0, limits.Rpm ?? 0, limits.Tpm ?? 0, WindowTtlSeconds]);
    }

    private RedisKey Key(string group, string deploymentId, string suffix) => RoutingKeys.Deployment(prefix, group, deploymentId, suffix);
}

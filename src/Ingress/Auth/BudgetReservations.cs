using System.Collections.Concurrent;
using System.Globalization;
using Broker.Config;
using Broker.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Broker.Ingress.Auth;

/// <summary>
/// Budgets as reservations, shared by every Ingress instance through Redis (one hash per key, user, team or the proxy,
/// changed only by Lua scripts, so check-and-reserve is atomic), in this process's memory without Redis. A scope's
/// spend is what Billing wrote (the highest total any instance has seen), plus what answers cost since (settled here,
/// kept until Billing's total has grown by as much, at most <see cref="AuthOptions.SettledSpendSeconds"/>), plus the
/// estimates of requests in flight. A request is let through only while that is below the budget, and then holds its
/// estimate until its answer settles it: once the budget is reached, only requests already in flight still run.
/// Estimates of requests that never settle (a process killed) lapse after the longest request time.
/// </summary>
public sealed class BudgetReservations(BrokerRedis redis, IProxyConfigProvider config, AuthOptions options, TimeProvider time)
{
    /// <summary>Amounts are kept as whole units of 10⁻¹⁰ USD, so holds and releases cancel exactly.</summary>
    private const decimal UnitsPerUsd = 10_000_000_000m;

    private const int SettledBucketSeconds = 5;

    /// <summary>
    /// KEYS[1] the ledger; ARGV: period, known spend, budget, estimate, minute, oldest live minute, oldest live settled
    /// bucket, ttl ms. Fields: p (period), b (Billing's spend), r&lt;minute&gt; (estimates held), u&lt;bucket&gt; (settled, unbilled).
    /// </summary>
    private const string ReserveScript = """
        local key = KEYS[1]
        local period = tonumber(ARGV[1])
        local stored = tonumber(redis.call('HGET', key, 'p') or '-1')
        local fields = redis.call('HGETALL', key)
        if period > stored then
          for i = 1, #fields, 2 do
            local f = fields[i]
            if f == 'b' or string.sub(f, 1, 1) == 'u' then redis.call('HDEL', key, f) end
          end
          redis.call('HSET', key, 'p', ARGV[1])
          fields = redis.call('HGETALL', key)
          stored = period
        end
        local billed, reserved, settled = 0, 0, {}
        local oldestMinute, oldestBucket = tonumber(ARGV[6]), tonumber(ARGV[7])
        for i = 1, #fields, 2 do
          local f, v = fields[i], tonumber(fields[i + 1])
          local kind, n = string.sub(f, 1, 1), tonumber(string.sub(f, 2))
          if f == 'b' then billed = v
          elseif kind == 'r' then
            if n < oldestMinute then redis.call('HDEL', key, f) elseif v > 0 then reserved = reserved + v end
          elseif kind == 'u' then
            if n < oldestBucket or v <= 0 then redis.call('HDEL', key, f) else table.insert(settled, {n, v}) end
          end
        end
        local known = tonumber(ARGV[2])
        if period == stored and known > billed then
          local growth = known - billed
          billed = known
          redis.call('HSET', key, 'b', ARGV[2])
          table.sort(settled, function(a, b) return a[1] < b[1] end)
          for _, s in ipairs(settled) do
            if growth <= 0 then break end
            local take = math.min(growth, s[2])
            growth = growth - take
            s[2] = s[2] - take
            if s[2] <= 0 then redis.call('HDEL', key, 'u' .. s[1]) else redis.call('HSET', key, 'u' .. s[1], string.format('%.0f', s[2])) end
          end
        end
        local spend = billed
        for _, s in ipairs(settled) do if s[2] > 0 then spend = spend + s[2] end end
        local allowed = 0
        if spend + reserved < tonumber(ARGV[3]) then
          allowed = 1
          if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', key, 'r' .. ARGV[5], ARGV[4]) end
        end
        redis.call('PEXPIRE', key, ARGV[8])
        return {allowed, string.format('%.0f', spend), string.format('%.0f', reserved)}
        """;

    /// <summary>KEYS[1] the ledger; ARGV: reservation field, its units, settled field, the actual units, ttl ms.</summary>
    private const string SettleScript = """
        local key = KEYS[1]
        if redis.call('HEXISTS', key, ARGV[1]) == 1 then
          if redis.call('HINCRBY', key, ARGV[1], -tonumber(ARGV[2])) <= 0 then redis.call('HDEL', key, ARGV[1]) end
        end
        if tonumber(ARGV[4]) > 0 then
          redis.call('HINCRBY', key, ARGV[3], ARGV[4])
          redis.call('PEXPIRE', key, ARGV[5])
        end
        return 1
        """;

    private readonly ConcurrentDictionary<string, LocalLedger> _local = new(StringComparer.Ordinal);
    private long _lastPruneMinute;

    /// <summary>
    /// Holds <paramref name="estimate"/> USD against every scope, in order; the first scope whose spend plus holds has
    /// reached its budget refuses, and what was already held is given back.
    /// </summary>
    public async Task<BudgetReservation> ReserveAsync(IReadOnlyList<BudgetScope> scopes, decimal estimate)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        if (scopes.Count == 0)
        {
            return BudgetReservation.None;
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var minute = now / 60;
        PruneLocal(minute);
        var units = ToUnits(Math.Max(0, estimate));
        var held = new List<BudgetReservation.Hold>();
        foreach (var scope in scopes)
        {
            var ledger = $"budget:{scope.Type}:{scope.Id}";
            var (allowed, spend, reserved, shared) = await ReserveOneAsync(ledger, scope, units, now);
            if (!allowed)
            {
                foreach (var hold in held)
                {
                    await SettleOneAsync(hold, 0, now);
                }

                return new BudgetReservation([], new BudgetReservation.Refused(scope, FromUnits(spend), FromUnits(reserved)));
            }

            held.Add(new BudgetReservation.Hold(ledger, minute, units, shared));
        }

        return new BudgetReservation(held, null);
    }

    /// <summary>The answer arrived (or the request ended): its estimate is released and what it cost counts until Billing has it.</summary>
    public async Task SettleAsync(BudgetReservation reservation, decimal actualCost)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var actual = ToUnits(Math.Max(0, actualCost));
        foreach (var hold in reservation.Held)
        {
            await SettleOneAsync(hold, actual, now);
        }
    }

    private async Task<(bool Allowed, long Spend, long Reserved, bool Shared)> ReserveOneAsync(string ledger, BudgetScope scope, long units, long now)
    {
        var (oldestMinute, oldestBucket, ttl) = Windows(now);
        if (redis.Available() is { } db)
        {
            try
            {
                var result = (RedisResult[])(await db.ScriptEvaluateAsync(ReserveScript, [RedisKey(ledger)],
                [
                    scope.Period, ToUnits(scope.KnownSpend), ToUnits(scope.MaxBudget), units, now / 60, oldestMinute, oldestBucket,
                    (long)ttl.TotalMilliseconds,
                ]))!;
                return ((long)result[0] == 1, long.Parse((string)result[1]!, CultureInfo.InvariantCulture),
                    long.Parse((string)result[2]!, CultureInfo.InvariantCulture), true);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        var local = _local.GetOrAdd(ledger, _ => new LocalLedger());
        lock (local)
        {
            var (allowed, spend, reserved) = local.Reserve(scope.Period, ToUnits(scope.KnownSpend), ToUnits(scope.MaxBudget), units, now / 60,
                oldestMinute, oldestBucket);
            local.LastMinute = now / 60;
            return (allowed, spend, reserved, false);
        }
    }

    private async Task SettleOneAsync(BudgetReservation.Hold hold, long actual, long now)
    {
        var bucket = now / SettledBucketSeconds;
        if (hold.Shared)
        {
            if (redis.Available() is not { } db)
            {
                return; // the hold lapses with its minute bucket
            }

            try
            {
                await db.ScriptEvaluateAsync(SettleScript, [RedisKey(hold.Ledger)],
                    ["r" + hold.Minute.ToString(CultureInfo.InvariantCulture), hold.Units, "u" + bucket.ToString(CultureInfo.InvariantCulture), actual,
                        (long)Windows(now).Ttl.TotalMilliseconds]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }

            return;
        }

        if (_local.TryGetValue(hold.Ledger, out var local))
        {
            lock (local)
            {
                local.Settle(hold.Minute, hold.Units, bucket, actual);
                local.LastMinute = now / 60;
            }
        }
    }

    /// <summary>
    /// The oldest minute whose holds still count (the longest a request can take: the request timeout, plus a minute),
    /// the oldest settled bucket that still counts, and how long an idle ledger is kept.
    /// </summary>
    private (long OldestMinute, long OldestBucket, TimeSpan Ttl) Windows(long now)
    {
        var lifetime = (config.Current.RouterSettings.Timeout ?? TimeSpan.FromSeconds(600)) + TimeSpan.FromMinutes(1);
        var settled = TimeSpan.FromSeconds(Math.Max(SettledBucketSeconds, options.SettledSpendSeconds));
        return ((now - (long)lifetime.TotalSeconds) / 60, (now - (long)settled.TotalSeconds) / SettledBucketSeconds,
            (lifetime > settled ? lifetime : settled) + TimeSpan.FromMinutes(1));
    }

    /// <summary>Once a minute, ledgers of this process that nothing touched for longer than they can matter go.</summary>
    private void PruneLocal(long minute)
    {
        if (Interlocked.Exchange(ref _lastPruneMinute, minute) == minute || _local.IsEmpty)
        {
            return;
        }

        var idle = (long)Math.Ceiling(Windows(minute * 60).Ttl.TotalMinutes);
        foreach (var (name, ledger) in _local)
        {
            if (Volatile.Read(ref ledger.LastMinute) < minute - idle)
            {
                _local.TryRemove(name, out _);
            }
        }
    }

    private RedisKey RedisKey(string ledger) => $"{redis.Options.KeyPrefix}:{ledger}";

    private static long ToUnits(decimal usd) => (long)Math.Round(Math.Min(usd, long.MaxValue / UnitsPerUsd / 4) * UnitsPerUsd);

    private static decimal FromUnits(long units) => units / UnitsPerUsd;

    /// <summary>The in-process ledger: the same rules as the Redis scripts.</summary>
    private sealed class LocalLedger
    {
        private readonly SortedDictionary<long, long> _reserved = [];
        private readonly SortedDictionary<long, long> _settled = [];
        private long _period = -1;
        private long _billed;

        public long LastMinute;

        public (bool Allowed, long Spend, long Reserved) Reserve(long period, long known, long max, long units, long minute, long oldestMinute, long oldestBucket)
        {
            if (period > _period)
            {
                _period = period;
                _billed = 0;
                _settled.Clear();
            }

            Drop(_reserved, oldestMinute);
            Drop(_settled, oldestBucket);
            if (period == _period && known > _billed)
            {
                var growth = known - _billed;
                _billed = known;
                foreach (var bucket in _settled.Keys.ToList())
                {
                    var take = Math.Min(growth, _settled[bucket]);
                    growth -= take;
                    _settled[bucket] -= take;
                    if (_settled[bucket] <= 0)
                    {
                        _settled.Remove(bucket);
                    }

                    if (growth <= 0)
                    {
                        break;
                    }
                }
            }

            var spend = _billed + _settled.Values.Where(v => v > 0).Sum();
            var reserved = _reserved.Values.Where(v => v > 0).Sum();
            if (spend + reserved >= max)
            {
                return (false, spend, reserved);
            }

            if (units > 0)
            {
                _reserved[minute] = _reserved.GetValueOrDefault(minute) + units;
            }

            return (true, spend, reserved);
        }

        public void Settle(long minute, long units, long bucket, long actual)
        {
            if (_reserved.TryGetValue(minute, out var held))
            {
                if (held - units <= 0)
                {
                    _reserved.Remove(minute);
                }
                else
                {
                    _reserved[minute] = held - units;
                }
            }

            if (actual > 0)
            {
                _settled[bucket] = _settled.GetValueOrDefault(bucket) + actual;
            }
        }

        private static void Drop(SortedDictionary<long, long> buckets, long oldest)
        {
            while (buckets.Count > 0 && buckets.Keys.First() < oldest)
            {
                buckets.Remove(buckets.Keys.First());
            }
        }
    }
}

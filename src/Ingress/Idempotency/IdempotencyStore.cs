using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.ServiceDefaults.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.Ingress.Idempotency;

/// <summary>
/// Where <c>Idempotency-Key</c>s live: in Redis when one is configured and answering, shared by every Ingress instance
/// (the claim is one script, so of two instances racing on a key exactly one runs the request), else in this
/// process's memory. A key holds either a claim (a request in flight) or the finished answer, for
/// <see cref="IdempotencyOptions.TtlSeconds"/>. In Redis a claim comes with a lease
/// (<c>&lt;prefix&gt;:idempotency-lease:{key}</c>, <see cref="IdempotencyOptions.ClaimSeconds"/>) that its Ingress
/// renews while the request runs, and with the call id it sent (<c>&lt;prefix&gt;:idempotency-call:{key}</c>) and that
/// call's deadline (<c>&lt;prefix&gt;:idempotency-deadline:{key}</c>): a claim whose lease expired belongs to an Ingress
/// that died with the request in flight. Its repeats never run it a second time: one of them takes the claim over
/// (<see cref="TakeOverAsync"/>) and answers with the call's answer as the workers kept it, or, when none comes by the
/// call's deadline, with 409 (the request may have run and been charged). Claims are compared by their whole value,
/// so a request never overwrites or deletes another holder's key.
/// </summary>
public sealed class IdempotencyStore(BrokerRedis redis, IdempotencyOptions options, TimeProvider time, ILogger<IdempotencyStore> logger)
{
    /// <summary>
    /// KEYS[1] the key, KEYS[2] its lease, KEYS[3] its call id, KEYS[4] the call's deadline; ARGV[1] the claim, ARGV[2]
    /// the key's ttl in ms, ARGV[3] the lease's. Returns {1} when claimed, else {0, the key's value, whether the lease
    /// lives, the call id, the call's deadline}.
    /// </summary>
    private const string ClaimScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
          redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
          redis.call('DEL', KEYS[3], KEYS[4])
          return {1}
        end
        return {0, redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2]), redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4])}
        """;

    /// <summary>
    /// KEYS[1] the key, KEYS[2] its lease, KEYS[3] its call id, KEYS[4] the call's deadline; ARGV[1] the value it must
    /// still hold (a dead holder's claim, or an outcome-unknown answer), ARGV[2] the new claim, ARGV[3] the key's ttl in
    /// ms, ARGV[4] the lease's, ARGV[5] the call id, ARGV[6] its deadline (unix ms). Taken only while no lease lives.
    /// </summary>
    private const string TakeOverScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
          redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
          redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
          redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[3])
          redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[3])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS[1] the key, KEYS[2] its lease; ARGV[1] the claim it must still hold, ARGV[2] the lease's ttl in ms, ARGV[3] the key's.</summary>
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
          return 1
        end
        return 0
        """;

    /// <summary>
    /// KEYS[1] the key, KEYS[2] its call id, KEYS[3] the call's deadline; ARGV[1] the claim it must still hold, ARGV[2] the
    /// call id, ARGV[3] their ttl in ms, ARGV[4] the deadline (unix ms).
    /// </summary>
    private const string RecordCallScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
          redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS[1] the key, KEYS[2] its lease, KEYS[3] its call id, KEYS[4] its deadline; ARGV[1] the claim it must still hold, ARGV[2] the answer, ARGV[3] its ttl in ms.</summary>
    private const string CompleteScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
          redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS[1] the key, KEYS[2] its lease, KEYS[3] its call id, KEYS[4] its deadline; ARGV[1] the claim it must still hold.</summary>
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4]) end
        return 0
        """;

    private readonly ConcurrentDictionary<string, LocalEntry> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _changed = new(StringComparer.Ordinal);
    private long _nextSweep;
    private long _localBytes;

    private TimeSpan ClaimTtl => TimeSpan.FromSeconds(Math.Max(1, options.ClaimSeconds));

    private TimeSpan AnswerTtl => TimeSpan.FromSeconds(Math.Max(1, options.TtlSeconds));

    /// <summary>How long a claim's key lives: as long as an answer would, and never shorter than its lease.</summary>
    private TimeSpan KeyTtl => AnswerTtl > ClaimTtl ? AnswerTtl : ClaimTtl;

    /// <summary>Claims <paramref name="key"/> for a request with <paramref name="fingerprint"/>, or says who holds it.</summary>
    public async Task<IdempotencyClaim> ClaimAsync(string key, string fingerprint, CancellationToken cancellationToken)
    {
        // "lease": the claim has a lease (an Ingress of this version holds it); a claim without one lapses by itself
        var claim = Serialize(new JsonObject { ["f"] = fingerprint, ["o"] = Guid.NewGuid().ToString("N"), ["lease"] = true });
        if (redis.Available() is { } db)
        {
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = (RedisResult[])(await db.ScriptEvaluateAsync(ClaimScript, ClaimKeys(key),
                    [claim, Milliseconds(KeyTtl), Milliseconds(ClaimTtl)]))!;
                if ((long)result[0] == 1)
                {
                    return await LegacyHolderAsync(db, key, claim) ?? new IdempotencyClaim(claim, fingerprint, null);
                }

                // a value this version cannot read falls through to this process's memory, as when Redis is away
                if (Parse(result[1].ToString()) is { } found)
                {
                    var lost = found.Answer is null && Leased(result[1].ToString()) && (long)result[2] == 0;
                    found = found with { HeldValue = result[1].ToString() };
                    return lost
                        ? found with { LostCallId = result[3].IsNull ? "" : result[3].ToString(), CallDeadline = UnixMs(result[4].IsNull ? null : result[4].ToString()) }
                        : found;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        Sweep();
        var now = time.GetTimestamp();
        while (true)
        {
            if (_local.TryGetValue(key, out var entry) && entry.ExpiresAt > now)
            {
                return Parse(entry.Value)!;
            }

            var mine = new LocalEntry(claim, now + Ticks(ClaimTtl));
            if (entry is null ? _local.TryAdd(key, mine) : _local.TryUpdate(key, mine, entry))
            {
                Interlocked.Add(ref _localBytes, -(entry?.Size ?? 0));
                return new IdempotencyClaim(claim, fingerprint, null);
            }
        }
    }

    /// <summary>
    /// Keeps a claim alive while its request runs (its lease in Redis, its entry in memory); false when it is no longer
    /// this request's.
    /// </summary>
    public async Task<bool> RenewAsync(string key, string token)
    {
        if (redis.Available() is { } db)
        {
            try
            {
                return (long)await db.ScriptEvaluateAsync(RenewScript, [RedisKey(key), LeaseKey(key)],
                    [token, Milliseconds(ClaimTtl), Milliseconds(KeyTtl)]) == 1;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        return Replace(key, token, new LocalEntry(token, time.GetTimestamp() + Ticks(ClaimTtl)));
    }

    /// <summary>
    /// Records the call id the request holding <paramref name="token"/> is about to send to a queue, and the call's
    /// deadline, before it is sent: if this Ingress dies while the call runs, its repeats name that call
    /// (<c>GET /request/{id}</c>) and wait for its kept answer until that deadline.
    /// </summary>
    public async Task RecordCallAsync(string key, string token, string callId, DateTimeOffset deadline)
    {
        if (redis.Available() is { } db)
        {
            try
            {
                await db.ScriptEvaluateAsync(RecordCallScript, [RedisKey(key), CallKey(key), DeadlineKey(key)],
                    [token, callId, Milliseconds(KeyTtl), deadline.ToUnixTimeMilliseconds()]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // the repeat of a request whose Ingress died is still refused, only without naming the call
                redis.ReportFailure(ex);
            }
        }
    }

    /// <summary>
    /// Takes over a key whose request may have run but whose answer its Ingress never gave (<paramref name="heldValue"/>:
    /// the claim of an Ingress whose lease expired, or an outcome-unknown answer), to answer it with that request's call
    /// (<paramref name="callId"/>, still answerable until <paramref name="deadline"/>): the claim returned is this
    /// request's, renewed and completed like any other. Null when the key changed meanwhile, or without Redis (a key held
    /// in this process's memory has no other Ingress to outlive).
    /// </summary>
    public async Task<string?> TakeOverAsync(string key, string heldValue, string fingerprint, string callId, DateTimeOffset deadline)
    {
        if (redis.Available() is not { } db)
        {
            return null;
        }

        var claim = Serialize(new JsonObject { ["f"] = fingerprint, ["o"] = Guid.NewGuid().ToString("N"), ["lease"] = true });
        try
        {
            return (long)await db.ScriptEvaluateAsync(TakeOverScript, ClaimKeys(key),
                [heldValue, claim, Milliseconds(KeyTtl), Milliseconds(ClaimTtl), callId, deadline.ToUnixTimeMilliseconds()]) == 1 ? claim : null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
            return null;
        }
    }

    /// <summary>Stores the answer of the request holding <paramref name="token"/>; its repeats get it from now on.</summary>
    public async Task CompleteAsync(string key, string token, string fingerprint, IdempotentAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var value = AnswerValue(fingerprint, answer);
        try
        {
            if (redis.Available() is { } db)
            {
                try
                {
                    await db.ScriptEvaluateAsync(CompleteScript, ClaimKeys(key), [token, value, Milliseconds(AnswerTtl)]);
                    return;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    Log.NotStored(logger, ex.GetType().Name + ": " + ex.Message);
                    if (ex is RedisConnectionException)
                    {
                        redis.ReportFailure(ex);
                        return;
                    }

                    // a large answer may take longer than a command may: keep at least that the request finished, so its
                    // repeats are told the answer was not kept rather than that its outcome is unknown once the lease expires
                    await CompleteNotKeptAsync(db, key, token, fingerprint, answer);
                    return;
                }
            }

            // in memory, the answers kept are bounded (Idempotency:MaxLocalBytes): past it, a repeat is told the answer was not kept
            var size = Size(value);
            if (Volatile.Read(ref _localBytes) + size > options.MaxLocalBytes)
            {
                Sweep(force: true);
                if (Volatile.Read(ref _localBytes) + size > options.MaxLocalBytes)
                {
                    Log.LocalFull(logger, options.MaxLocalBytes);
                    value = AnswerValue(fingerprint, answer with { Headers = new Dictionary<string, string>(), Body = [], TooLarge = true });
                    size = Size(value);
                }
            }

            Replace(key, token, new LocalEntry(value, time.GetTimestamp() + Ticks(AnswerTtl), size));
        }
        finally
        {
            Signal(key);
        }
    }

    private async Task CompleteNotKeptAsync(IDatabase db, string key, string token, string fingerprint, IdempotentAnswer answer)
    {
        var notKept = answer.UnknownOutcomeOf is null ? answer with { Headers = new Dictionary<string, string>(), Body = [], TooLarge = true } : answer;
        try
        {
            await db.ScriptEvaluateAsync(CompleteScript, ClaimKeys(key),
                [token, AnswerValue(fingerprint, notKept), Milliseconds(AnswerTtl)]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // the claim stays without its lease: repeats get 409 idempotency_outcome_unknown, never a second run
            redis.ReportFailure(ex);
        }
    }

    /// <summary>Gives the key up (the request failed in a way a retry may fix): the next request with it runs.</summary>
    public async Task ReleaseAsync(string key, string token)
    {
        try
        {
            if (redis.Available() is { } db)
            {
                try
                {
                    await ReleaseAsync(db, key, token);
                    return;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    redis.ReportFailure(ex);
                }
            }

            if (_local.TryGetValue(key, out var entry) && entry.Value == token)
            {
                Remove(key, entry);
            }
        }
        finally
        {
            Signal(key);
        }
    }

    /// <summary>Waits until the key may have changed: at once when this process changed it, else after the poll interval.</summary>
    public async Task WaitForChangeAsync(string key, CancellationToken cancellationToken)
    {
        var changed = _changed.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var poll = TimeSpan.FromMilliseconds(Math.Max(10, options.PollMilliseconds));
        try
        {
            await changed.Task.WaitAsync(poll, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // another instance's change is seen by asking again; the waiter entry goes, so keys held elsewhere leave
            // nothing behind in this process
            _changed.TryRemove(KeyValuePair.Create(key, changed));
        }
    }

    private void Signal(string key)
    {
        if (_changed.TryRemove(key, out var changed))
        {
            changed.TrySetResult();
        }
    }

    private bool Replace(string key, string token, LocalEntry replacement)
    {
        while (_local.TryGetValue(key, out var entry) && entry.Value == token)
        {
            if (_local.TryUpdate(key, replacement, entry))
            {
                Interlocked.Add(ref _localBytes, replacement.Size - entry.Size);
                return true;
            }
        }

        return false;
    }

    /// <summary>Drops expired local entries, at most once a minute unless <paramref name="force"/>.</summary>
    private void Sweep(bool force = false)
    {
        var now = time.GetTimestamp();
        var next = Volatile.Read(ref _nextSweep);
        if (!force && (now < next || Interlocked.CompareExchange(ref _nextSweep, now + Ticks(TimeSpan.FromMinutes(1)), next) != next))
        {
            return;
        }

        foreach (var (key, entry) in _local)
        {
            if (entry.ExpiresAt <= now)
            {
                Remove(key, entry);
            }
        }
    }

    private void Remove(string key, LocalEntry entry)
    {
        if (_local.TryRemove(KeyValuePair.Create(key, entry)))
        {
            Interlocked.Add(ref _localBytes, -entry.Size);
        }
    }

    private static long Size(string value) => (long)value.Length * sizeof(char);

    private static string AnswerValue(string fingerprint, IdempotentAnswer answer) => Serialize(new JsonObject
    {
        ["f"] = fingerprint,
        ["s"] = answer.StatusCode,
        ["h"] = new JsonObject(answer.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)JsonValue.Create(h.Value)))),
        ["b"] = Convert.ToBase64String(answer.Body),
        ["l"] = answer.TooLarge,
        ["u"] = answer.UnknownOutcomeOf,
        ["d"] = answer.CallDeadline?.ToUnixTimeMilliseconds(),
    });

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private static long Milliseconds(TimeSpan span) => (long)span.TotalMilliseconds;

    /// <summary>
    /// <c>&lt;prefix&gt;:idempotency:{key}</c>: the claim or the answer. The key is a hash tag, so the claim, its lease and
    /// its call id sit on one Redis Cluster slot and one script can touch them all.
    /// </summary>
    private RedisKey RedisKey(string key) => $"{redis.Options.KeyPrefix}:idempotency:{{{key}}}";

    private RedisKey LeaseKey(string key) => $"{redis.Options.KeyPrefix}:idempotency-lease:{{{key}}}";

    private RedisKey CallKey(string key) => $"{redis.Options.KeyPrefix}:idempotency-call:{{{key}}}";

    private RedisKey DeadlineKey(string key) => $"{redis.Options.KeyPrefix}:idempotency-deadline:{{{key}}}";

    /// <summary>The key, its lease, its call id and the call's deadline: the KEYS of the claim, take-over, complete and release scripts.</summary>
    private RedisKey[] ClaimKeys(string key) => [RedisKey(key), LeaseKey(key), CallKey(key), DeadlineKey(key)];

    private static DateTimeOffset? UnixMs(string? value) =>
        long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    /// <summary>Where an Ingress older than the lease kept a key (claim or answer), without the hash tag.</summary>
    private RedisKey LegacyKey(string key) => $"{redis.Options.KeyPrefix}:idempotency:{key}";

    private async Task ReleaseAsync(IDatabase db, string key, string token) =>
        await db.ScriptEvaluateAsync(ReleaseScript, ClaimKeys(key), [token]);

    /// <summary>
    /// During an upgrade: a key claimed or answered by an older Ingress under the old name wins over the claim just
    /// taken, which is given back. Null when there is none. (Can go once every Ingress runs this version and
    /// <see cref="IdempotencyOptions.TtlSeconds"/> has passed since.)
    /// </summary>
    private async Task<IdempotencyClaim?> LegacyHolderAsync(IDatabase db, string key, string claim)
    {
        var legacy = await db.StringGetAsync(LegacyKey(key));
        if (!legacy.HasValue || Parse(legacy.ToString()) is not { } found)
        {
            return null;
        }

        await ReleaseAsync(db, key, claim);
        return found;
    }

    /// <summary>Whether a stored claim was taken with a lease (<c>"lease": true</c>).</summary>
    private static bool Leased(string value)
    {
        try
        {
            return JsonNode.Parse(value) is JsonObject o && o["lease"] is JsonValue l && l.TryGetValue<bool>(out var leased) && leased;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Serialize(JsonObject value) => value.ToJsonString();

    /// <summary>A stored value: a claim (<c>o</c>, the holder's id) or an answer (<c>s</c>, <c>h</c>, <c>b</c>).</summary>
    private static IdempotencyClaim? Parse(string value)
    {
        try
        {
            if (JsonNode.Parse(value) is not JsonObject o || o["f"]?.GetValue<string>() is not { } fingerprint)
            {
                return null;
            }

            if (o["s"] is not JsonValue status)
            {
                return new IdempotencyClaim(null, fingerprint, null);
            }

            var headers = (o["h"] as JsonObject ?? []).ToDictionary(h => h.Key, h => h.Value?.GetValue<string>() ?? "", StringComparer.OrdinalIgnoreCase);
            var body = Convert.FromBase64String(o["b"]?.GetValue<string>() ?? "");
            var tooLarge = o["l"] is JsonValue l && l.GetValue<bool>();
            var unknownOutcomeOf = o["u"] is JsonValue u ? u.GetValue<string>() : null;
            DateTimeOffset? callDeadline = o["d"] is JsonValue d ? DateTimeOffset.FromUnixTimeMilliseconds(d.GetValue<long>()) : null;
            return new IdempotencyClaim(null, fingerprint, new IdempotentAnswer(status.GetValue<int>(), headers, body, tooLarge, unknownOutcomeOf, callDeadline));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A claim (<see cref="Size"/> 0) or an answer kept in memory, with what it takes there.</summary>
    private sealed record LocalEntry(string Value, long ExpiresAt, long Size = 0);
}

using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.ServiceDefaults.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.Ingress.Idempotency;

/// <summary>
/// Where <c>Idempotency-Key</c>s live: in Redis when one is configured and answering, shared by every Ingress instance
/// (the claim is one <c>SET NX</c>, so of two instances racing on a key exactly one runs the request), else in this
/// process's memory. A key holds either a claim (a request in flight, renewed while it runs, lapsing when its Ingress
/// dies) or the finished answer, for <see cref="IdempotencyOptions.TtlSeconds"/>. Claims are compared by their whole
/// value, so a request whose claim lapsed and was taken over never overwrites or deletes the newer holder's.
/// </summary>
public sealed class IdempotencyStore(BrokerRedis redis, IdempotencyOptions options, TimeProvider time, ILogger<IdempotencyStore> logger)
{
    /// <summary>KEYS[1] the key; ARGV[1] the claim it must still hold, ARGV[2] the new ttl in ms.</summary>
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    /// <summary>KEYS[1] the key; ARGV[1] the claim it must still hold, ARGV[2] the answer, ARGV[3] its ttl in ms.</summary>
    private const string CompleteScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
        return 0
        """;

    /// <summary>KEYS[1] the key; ARGV[1] the claim it must still hold.</summary>
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly ConcurrentDictionary<string, LocalEntry> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _changed = new(StringComparer.Ordinal);
    private long _nextSweep;
    private long _localBytes;

    private TimeSpan ClaimTtl => TimeSpan.FromSeconds(Math.Max(1, options.ClaimSeconds));

    private TimeSpan AnswerTtl => TimeSpan.FromSeconds(Math.Max(1, options.TtlSeconds));

    /// <summary>Claims <paramref name="key"/> for a request with <paramref name="fingerprint"/>, or says who holds it.</summary>
    public async Task<IdempotencyClaim> ClaimAsync(string key, string fingerprint, CancellationToken cancellationToken)
    {
        var claim = Serialize(new JsonObject { ["f"] = fingerprint, ["o"] = Guid.NewGuid().ToString("N") });
        if (redis.Available() is { } db)
        {
            try
            {
                for (var tries = 0; tries < 3; tries++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (await db.StringSetAsync(RedisKey(key), claim, ClaimTtl, When.NotExists))
                    {
                        return new IdempotencyClaim(claim, fingerprint, null);
                    }

                    var held = await db.StringGetAsync(RedisKey(key));
                    if (held.HasValue && Parse(held.ToString()) is { } found)
                    {
                        return found;
                    }

                    // it lapsed or was released between the two commands: claim again
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

    /// <summary>Keeps a claim alive while its request runs; false when it is no longer this request's.</summary>
    public async Task<bool> RenewAsync(string key, string token)
    {
        if (redis.Available() is { } db)
        {
            try
            {
                return (long)await db.ScriptEvaluateAsync(RenewScript, [RedisKey(key)], [token, (long)ClaimTtl.TotalMilliseconds]) == 1;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                redis.ReportFailure(ex);
            }
        }

        return Replace(key, token, new LocalEntry(token, time.GetTimestamp() + Ticks(ClaimTtl)));
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
                    await db.ScriptEvaluateAsync(CompleteScript, [RedisKey(key)], [token, value, (long)AnswerTtl.TotalMilliseconds]);
                    return;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    // a large answer may take longer than a routing command: the claim lapses and a repeat runs again
                    Log.NotStored(logger, ex.GetType().Name + ": " + ex.Message);
                    if (ex is RedisConnectionException)
                    {
                        redis.ReportFailure(ex);
                    }

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

    /// <summary>Gives the key up (the request failed in a way a retry may fix): the next request with it runs.</summary>
    public async Task ReleaseAsync(string key, string token)
    {
        try
        {
            if (redis.Available() is { } db)
            {
                try
                {
                    await db.ScriptEvaluateAsync(ReleaseScript, [RedisKey(key)], [token]);
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
    });

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private RedisKey RedisKey(string key) => $"{redis.Options.KeyPrefix}:idempotency:{key}";

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
            return new IdempotencyClaim(null, fingerprint, new IdempotentAnswer(status.GetValue<int>(), headers, body, tooLarge, unknownOutcomeOf));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A claim (<see cref="Size"/> 0) or an answer kept in memory, with what it takes there.</summary>
    private sealed record LocalEntry(string Value, long ExpiresAt, long Size = 0);
}

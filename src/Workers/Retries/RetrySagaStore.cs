using System.Collections.Concurrent;
using System.Text.Json;
using Broker.ServiceDefaults.Redis;
using MassTransit;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.Workers.Retries;

/// <summary>
/// Where retry saga instances live: in Redis when the process has one (shared by every worker process, so any of
/// them resumes a request another one started), else in this process's memory (embedded mode). Writes are
/// optimistic: an update succeeds only if the stored version is still the one that was loaded (a Lua compare-and-set
/// in Redis), else <see cref="ConcurrencyException"/> and the message is retried. Redis keys expire a minute after
/// the request's deadline, so an instance whose request was abandoned does not stay.
/// </summary>
public sealed class RetrySagaStore(BrokerRedis redis, TimeProvider timeProvider, ILogger<RetrySagaStore> logger)
{
    private const string InsertScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;

    private const string UpdateScript = """
        local v = redis.call('HGET', KEYS[1], 'v')
        if not v then return -1 end
        if tonumber(v) ~= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    private static readonly TimeSpan KeepAfterDeadline = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<Guid, ChatCompletionRetryState> _local = new();
    private long _created;

    /// <summary>Instances created by this process since it started (tests: the happy path creates none).</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>Instances held in this process's memory now (always 0 while Redis is used).</summary>
    public int LocalCount => _local.Count;

    public async Task<ChatCompletionRetryState?> LoadAsync(Guid id)
    {
        if (Database() is { } db)
        {
            try
            {
                var fields = await db.HashGetAsync(Key(id), ["v", "d"]);
                if (fields[1].IsNullOrEmpty)
                {
                    return null;
                }

                var state = JsonSerializer.Deserialize<ChatCompletionRetryState>((string)fields[1]!)!;
                state.Version = (int)fields[0];
                return state;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Degrade(ex);
            }
        }

        return _local.TryGetValue(id, out var local) ? Copy(local) : null;
    }

    /// <summary>Stores a new instance; false when one with that id exists already.</summary>
    public async Task<bool> InsertAsync(ChatCompletionRetryState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Version = 1;
        if (Database() is { } db)
        {
            try
            {
                var inserted = (int)await db.ScriptEvaluateAsync(InsertScript, [Key(state.CorrelationId)],
                    [state.Version, JsonSerializer.Serialize(state), Ttl(state)]) == 1;
                if (inserted)
                {
                    Interlocked.Increment(ref _created);
                }

                return inserted;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Degrade(ex);
            }
        }

        if (_local.TryAdd(state.CorrelationId, Copy(state)))
        {
            Interlocked.Increment(ref _created);
            return true;
        }

        return false;
    }

    /// <summary>Saves a loaded instance if nobody saved it since it was loaded; bumps its version.</summary>
    public async Task UpdateAsync(ChatCompletionRetryState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var expected = state.Version;
        if (Database() is { } db)
        {
            try
            {
                state.Version = expected + 1;
                var result = (int)await db.ScriptEvaluateAsync(UpdateScript, [Key(state.CorrelationId)],
                    [expected, state.Version, JsonSerializer.Serialize(state), Ttl(state)]);
                if (result != 1)
                {
                    state.Version = expected;
                    throw new ConcurrencyException(result == 0 ? "Retry saga was changed by another worker" : "Retry saga is gone",
                        typeof(ChatCompletionRetryState), state.CorrelationId);
                }

                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                state.Version = expected;
                Degrade(ex);
            }
        }

        var stored = _local.TryGetValue(state.CorrelationId, out var current) ? current : null;
        state.Version = expected + 1;
        if (stored is null || stored.Version != expected || !_local.TryUpdate(state.CorrelationId, Copy(state), stored))
        {
            state.Version = expected;
            throw new ConcurrencyException("Retry saga was changed concurrently", typeof(ChatCompletionRetryState), state.CorrelationId);
        }
    }

    public async Task DeleteAsync(Guid id)
    {
        _local.TryRemove(id, out _);
        if (Database() is { } db)
        {
            try
            {
                await db.KeyDeleteAsync(Key(id));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Degrade(ex);
            }
        }
    }

    private IDatabase? Database() => redis.Available();

    private void Degrade(Exception ex)
    {
        redis.ReportFailure(ex);
        Log.StoreLocal(logger, ex.GetType().Name + ": " + ex.Message);
    }

    private string Key(Guid id) => $"{redis.Options.KeyPrefix}:retry-saga:{id:N}";

    private long Ttl(ChatCompletionRetryState state)
    {
        var ttl = state.Deadline - timeProvider.GetUtcNow() + KeepAfterDeadline;
        return (long)Math.Max(ttl.TotalMilliseconds, KeepAfterDeadline.TotalMilliseconds);
    }

    /// <summary>Memory holds copies, so an instance being changed by a consumer is never the stored one.</summary>
    private static ChatCompletionRetryState Copy(ChatCompletionRetryState state) =>
        JsonSerializer.Deserialize<ChatCompletionRetryState>(JsonSerializer.Serialize(state))!;
}

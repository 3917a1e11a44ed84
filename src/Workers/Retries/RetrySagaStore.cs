using System.Collections.Concurrent;
using System.Text.Json;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Redis;
using MassTransit;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.Workers.Retries;

/// <summary>
/// Where retry saga instances and attempt tickets live.
/// <list type="bullet">
/// <item>Distributed (RabbitMQ) with a PostgreSQL database_url: in PostgreSQL (<see cref="PostgresRetrySagaRows"/>),
/// shared by every worker process, so any of them resumes a request another one started.</item>
/// <item>Distributed with Redis and no database: in Redis only, the same way.</item>
/// <item>Distributed with neither: refused at start (<see cref="EnsureUsable"/>); a process's memory is no place for
/// state another process must resume.</item>
/// <item>Embedded (in-memory bus, one process): in this process's memory. Entries expire like the stored ones do.</item>
/// </list>
/// An error of the shared store fails the operation (and with it the consumed message, which MassTransit retries and
/// finally dead-letters); it never falls back to memory, where no other process would see it.
/// Writes are optimistic: an update succeeds only if the stored version is still the one that was loaded (a
/// conditional UPDATE in PostgreSQL, a Lua compare-and-set in Redis), else <see cref="ConcurrencyException"/> and the
/// message is retried. Everything expires
/// a minute after the request's deadline, so an instance whose request was abandoned does not stay.
/// <para>
/// An attempt ticket makes each attempt the saga sends (1, 2, ...) run at most once, whatever the duplicates: the
/// saga sends the next step before it saves its state, so a report redelivered after a crash sends that step again.
/// The worker that takes a copy first owns the attempt (<see cref="StartAttemptAsync"/>; a redelivery of the same
/// message keeps it), later copies are dropped; it claims the answer before answering (<see cref="CommitAttemptAsync"/>);
/// and a step timeout takes the attempt away unless it answered already (<see cref="AbandonAttemptAsync"/>), so a late
/// answer of a timed-out attempt is neither sent nor billed.
/// </para>
/// </summary>
public sealed class RetrySagaStore(BrokerRedis redis, BrokerDatabase database, BusOptions bus, TimeProvider timeProvider, ILogger<RetrySagaStore> logger)
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

    private const string StartScript = """
        local v = redis.call('GET', KEYS[1])
        if not v then redis.call('SET', KEYS[1], 'run:' .. ARGV[1], 'PX', ARGV[2]) return 1 end
        if v == 'run:' .. ARGV[1] or v == 'won:' .. ARGV[1] then return 1 end
        return 0
        """;

    private const string CommitScript = """
        local v = redis.call('GET', KEYS[1])
        if v == 'run:' .. ARGV[1] or v == 'won:' .. ARGV[1] then redis.call('SET', KEYS[1], 'won:' .. ARGV[1], 'PX', ARGV[2]) return 1 end
        return 0
        """;

    private const string AbandonScript = """
        local v = redis.call('GET', KEYS[1])
        if v and string.sub(v, 1, 4) == 'won:' then return 0 end
        redis.call('SET', KEYS[1], 'timeout', 'PX', ARGV[1])
        return 1
        """;

    private const string Abandoned = "timeout";

    /// <summary>How long state is kept after the request's deadline.</summary>
    public static readonly TimeSpan KeepAfterDeadline = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<Guid, LocalEntry> _local = new();
    private readonly Dictionary<(Guid, int), LocalTicket> _tickets = [];
    private readonly Lock _ticketsLock = new();
    private long _created;
    private long _attemptsStarted;
    private long _attemptsRefused;
    private long _nextSweepTicks;
    private long _nextStoredSweepTicks;
    private int _announced;
    private PostgresRetrySagaRows? _rows;

    /// <summary>Instances created by this process since it started (tests: the happy path creates none).</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>Saga-sent attempts this process's workers took up and ran (a redelivery counts again).</summary>
    public long AttemptsStarted => Interlocked.Read(ref _attemptsStarted);

    /// <summary>Copies of saga-sent attempts this process's workers dropped (another copy ran, or the saga gave up on it).</summary>
    public long AttemptsRefused => Interlocked.Read(ref _attemptsRefused);

    /// <summary>Where instances and tickets live: memory embedded; distributed, PostgreSQL when a database_url is set, else Redis.</summary>
    public RetrySagaStoreKind Kind => !bus.IsDistributed ? RetrySagaStoreKind.Memory
        : database.IsConfigured ? RetrySagaStoreKind.PostgreSql
        : redis.IsConfigured ? RetrySagaStoreKind.Redis
        : RetrySagaStoreKind.None;

    /// <summary>
    /// Throws, with what to set, when the roles run distributed with neither a PostgreSQL database nor Redis: the saga's
    /// state must be where every worker process sees it (checked at start, so such a worker never runs).
    /// </summary>
    public void EnsureUsable()
    {
        if (Kind == RetrySagaStoreKind.None)
        {
            throw new InvalidOperationException(
                "Workers running over RabbitMQ keep the retry saga's state (retries, fallbacks, step timeouts) where every worker " +
                "process sees it: set general_settings.database_url to a PostgreSQL server (postgresql://user:pass@host:5432/db), " +
                "or REDIS_URL (or router_settings.redis_host) to a Redis server. It is never kept in one process's memory.");
        }

        if (Interlocked.Exchange(ref _announced, 1) == 0)
        {
            Log.StoreKind(logger, Kind.ToString());
        }
    }

    /// <summary>
    /// Why the saga cannot keep state now, known without a round trip (Redis is the store and this process's connection
    /// to it is down), else null. A worker then answers a failure itself instead of handing it to a saga that could
    /// only dead-letter it.
    /// </summary>
    public string? Unreachable() =>
        Kind == RetrySagaStoreKind.Redis && redis.Available() is null
            ? "Redis, where retries and fallbacks keep their state, is unreachable"
            : null;

    /// <summary>Instances held in this process's memory now (always 0 while PostgreSQL or Redis is used).</summary>
    public int LocalCount => _local.Count;

    /// <summary>Attempt tickets held in this process's memory now (always 0 while PostgreSQL or Redis is used).</summary>
    public int LocalTicketCount
    {
        get
        {
            lock (_ticketsLock)
            {
                return _tickets.Count;
            }
        }
    }

    /// <summary>
    /// Fault seam (tests): runs before an instance's new state is written (its next step was sent already), e.g. to
    /// throw as if the process died at that point.
    /// </summary>
    public Func<ChatCompletionRetryState, Task>? BeforeUpdate { get; set; }

    /// <summary>
    /// Fault seam (tests): runs after an instance's new state was written and before the message that changed it is
    /// acknowledged, e.g. to throw as if the process died at that point.
    /// </summary>
    public Func<ChatCompletionRetryState, Task>? AfterUpdate { get; set; }

    public async Task<ChatCompletionRetryState?> LoadAsync(Guid id)
    {
        if (Rows() is { } rows)
        {
            if (await rows.LoadAsync(id, Now()) is not { } row)
            {
                return null;
            }

            var stored = JsonSerializer.Deserialize<ChatCompletionRetryState>(row.Json)!;
            stored.Version = row.Version;
            return stored;
        }

        if (Database() is { } db)
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

        if (!_local.TryGetValue(id, out var local))
        {
            return null;
        }

        if (Expired(local.ExpiresAt))
        {
            _local.TryRemove(new KeyValuePair<Guid, LocalEntry>(id, local));
            return null;
        }

        return Copy(local.State);
    }

    /// <summary>Stores a new instance; false when one with that id exists already.</summary>
    public async Task<bool> InsertAsync(ChatCompletionRetryState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Version = 1;
        if (Rows() is { } rows)
        {
            await SweepStoredAsync(rows);
            var added = await rows.InsertAsync(state.CorrelationId, state.Version, JsonSerializer.Serialize(state), StoredExpiry(state.Deadline), Now());
            if (added)
            {
                Interlocked.Increment(ref _created);
            }

            return added;
        }

        if (Database() is { } db)
        {
            var inserted = (int)await db.ScriptEvaluateAsync(InsertScript, [Key(state.CorrelationId)],
                [state.Version, JsonSerializer.Serialize(state), Ttl(state.Deadline)]) == 1;
            if (inserted)
            {
                Interlocked.Increment(ref _created);
            }

            return inserted;
        }

        Sweep();
        var entry = new LocalEntry(Copy(state), ExpiresAt(state.Deadline));
        if (_local.TryAdd(state.CorrelationId, entry) ||
            (_local.TryGetValue(state.CorrelationId, out var existing) && Expired(existing.ExpiresAt) &&
             _local.TryUpdate(state.CorrelationId, entry, existing)))
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
        if (BeforeUpdate is { } before)
        {
            await before(state);
        }

        var expected = state.Version;
        if (Kind != RetrySagaStoreKind.Memory)
        {
            state.Version = expected + 1;
            int result;
            try
            {
                var json = JsonSerializer.Serialize(state);
                result = Rows() is { } rows
                    ? await rows.UpdateAsync(state.CorrelationId, expected, state.Version, json, StoredExpiry(state.Deadline), Now())
                    : (int)await Database()!.ScriptEvaluateAsync(UpdateScript, [Key(state.CorrelationId)],
                        [expected, state.Version, json, Ttl(state.Deadline)]);
            }
            catch
            {
                state.Version = expected;
                throw;
            }

            if (result != 1)
            {
                state.Version = expected;
                throw new ConcurrencyException(result == 0 ? "Retry saga was changed by another worker" : "Retry saga is gone",
                    typeof(ChatCompletionRetryState), state.CorrelationId);
            }
        }
        else
        {
            var stored = _local.TryGetValue(state.CorrelationId, out var current) ? current : null;
            state.Version = expected + 1;
            if (stored is null || stored.State.Version != expected ||
                !_local.TryUpdate(state.CorrelationId, new LocalEntry(Copy(state), ExpiresAt(state.Deadline)), stored))
            {
                state.Version = expected;
                throw new ConcurrencyException("Retry saga was changed concurrently", typeof(ChatCompletionRetryState), state.CorrelationId);
            }
        }

        if (AfterUpdate is { } after)
        {
            await after(state);
        }
    }

    public async Task DeleteAsync(Guid id)
    {
        _local.TryRemove(id, out _);
        if (Rows() is { } rows)
        {
            await rows.DeleteAsync(id);
        }
        else if (Database() is { } db)
        {
            await db.KeyDeleteAsync(Key(id));
        }
    }

    /// <summary>
    /// A worker takes attempt <paramref name="attempt"/> of a request, as message <paramref name="messageId"/>: true when
    /// nobody had it or this message had it already (a redelivery); false for another copy of the attempt, or for an
    /// attempt the saga gave up on. Nothing changes then: the copy is to be dropped.
    /// </summary>
    public async Task<bool> StartAttemptAsync(Guid requestId, int attempt, Guid messageId, DateTimeOffset deadline)
    {
        var started = await TicketAsync(() => TryStartAttemptAsync(requestId, attempt, messageId.ToString("N"), deadline), "take", attempt);
        if (started)
        {
            Interlocked.Increment(ref _attemptsStarted);
        }
        else
        {
            Interlocked.Increment(ref _attemptsRefused);
        }

        return started;
    }

    private async Task<bool> TryStartAttemptAsync(Guid requestId, int attempt, string owner, DateTimeOffset deadline)
    {
        if (Rows() is { } rows)
        {
            var ticket = await rows.TakeAsync(requestId, attempt, owner, StoredExpiry(deadline), Now());
            return ticket == "run:" + owner || ticket == "won:" + owner;
        }

        if (Database() is { } db)
        {
            return (int)await db.ScriptEvaluateAsync(StartScript, [TicketKey(requestId, attempt)], [owner, Ttl(deadline)]) == 1;
        }

        Sweep();
        lock (_ticketsLock)
        {
            if (_tickets.TryGetValue((requestId, attempt), out var ticket) && !Expired(ticket.ExpiresAt))
            {
                return ticket.Value == "run:" + owner || ticket.Value == "won:" + owner;
            }

            _tickets[(requestId, attempt)] = new LocalTicket("run:" + owner, ExpiresAt(deadline));
            return true;
        }
    }

    /// <summary>
    /// The worker running an attempt is about to answer: true when the attempt is still its own (it answers), false when
    /// the saga gave up on it meanwhile (the answer is late: another attempt answers the caller).
    /// </summary>
    public Task<bool> CommitAttemptAsync(Guid requestId, int attempt, Guid messageId, DateTimeOffset deadline) =>
        TicketAsync(() => TryCommitAttemptAsync(requestId, attempt, messageId.ToString("N"), deadline), "commit", attempt);

    /// <summary>
    /// A ticket operation, tried three times over about a second when the store cannot be reached; then
    /// <see cref="AttemptTicketUnavailableException"/>. Other failures (the store's data, a bug) are thrown as they are.
    /// </summary>
    private static async Task<bool> TicketAsync(Func<Task<bool>> operation, string what, int attempt)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await operation();
            }
            catch (Exception ex) when (AttemptTicketUnavailableException.IsUnreachable(ex))
            {
                if (tries == 3)
                {
                    throw new AttemptTicketUnavailableException($"could not {what} the ticket of attempt {attempt}: {ex.Message}", ex);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * tries * tries));
            }
        }
    }

    private async Task<bool> TryCommitAttemptAsync(Guid requestId, int attempt, string owner, DateTimeOffset deadline)
    {
        if (Rows() is { } rows)
        {
            return await rows.CommitAsync(requestId, attempt, owner, StoredExpiry(deadline), Now());
        }

        if (Database() is { } db)
        {
            return (int)await db.ScriptEvaluateAsync(CommitScript, [TicketKey(requestId, attempt)], [owner, Ttl(deadline)]) == 1;
        }

        lock (_ticketsLock)
        {
            if (_tickets.TryGetValue((requestId, attempt), out var ticket) && !Expired(ticket.ExpiresAt) &&
                (ticket.Value == "run:" + owner || ticket.Value == "won:" + owner))
            {
                _tickets[(requestId, attempt)] = new LocalTicket("won:" + owner, ExpiresAt(deadline));
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// The saga gives up on an attempt whose time is up: true when it had not answered (not started, still running, or
    /// its worker gone; from now on it can neither start nor answer), false when it answered already.
    /// </summary>
    public async Task<bool> AbandonAttemptAsync(Guid requestId, int attempt, DateTimeOffset deadline)
    {
        if (Rows() is { } rows)
        {
            return await rows.AbandonAsync(requestId, attempt, Abandoned, StoredExpiry(deadline), Now());
        }

        if (Database() is { } db)
        {
            return (int)await db.ScriptEvaluateAsync(AbandonScript, [TicketKey(requestId, attempt)], [Ttl(deadline)]) == 1;
        }

        Sweep();
        lock (_ticketsLock)
        {
            if (_tickets.TryGetValue((requestId, attempt), out var ticket) && !Expired(ticket.ExpiresAt) &&
                ticket.Value.StartsWith("won:", StringComparison.Ordinal))
            {
                return false;
            }

            _tickets[(requestId, attempt)] = new LocalTicket(Abandoned, ExpiresAt(deadline));
            return true;
        }
    }

    /// <summary>Removes expired instances and tickets from memory (done by writes every few seconds; tests call it).</summary>
    public void Sweep(bool force = false)
    {
        var now = timeProvider.GetUtcNow();
        var next = Interlocked.Read(ref _nextSweepTicks);
        if (!force && now.UtcTicks < next)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _nextSweepTicks, (now + SweepEvery).UtcTicks, next) != next && !force)
        {
            return;
        }

        foreach (var (id, entry) in _local)
        {
            if (entry.ExpiresAt <= now)
            {
                _local.TryRemove(new KeyValuePair<Guid, LocalEntry>(id, entry));
            }
        }

        lock (_ticketsLock)
        {
            foreach (var key in _tickets.Where(t => t.Value.ExpiresAt <= now).Select(t => t.Key).ToList())
            {
                _tickets.Remove(key);
            }
        }
    }

    /// <summary>The PostgreSQL rows when the saga state lives there (distributed with a database_url), else null.</summary>
    private PostgresRetrySagaRows? Rows()
    {
        if (Kind != RetrySagaStoreKind.PostgreSql)
        {
            return null;
        }

        return _rows ??= new PostgresRetrySagaRows(database.DataSource);
    }

    /// <summary>Redis when the saga state lives there (distributed with Redis and no database), else null: memory.</summary>
    private IDatabase? Database()
    {
        switch (Kind)
        {
            case RetrySagaStoreKind.Memory:
                return null;
            case RetrySagaStoreKind.None:
                EnsureUsable();
                return null;
            default:
                // Redis is where the state is: while it is down, fail (the message is retried), never a memory of our own
                return redis.Available() ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None,
                    "Redis is unavailable: the retry saga's state cannot be read or written", null, CommandStatus.Unknown);
        }
    }

    /// <summary>Deletes expired rows now and then (at most every <see cref="SweepEvery"/>, by one writer of this process).</summary>
    private async Task SweepStoredAsync(PostgresRetrySagaRows rows)
    {
        var now = Now();
        var next = Interlocked.Read(ref _nextStoredSweepTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextStoredSweepTicks, (now + SweepEvery).UtcTicks, next) != next)
        {
            return;
        }

        await rows.SweepAsync(now);
    }

    private DateTimeOffset Now() => timeProvider.GetUtcNow().ToUniversalTime();

    private DateTimeOffset StoredExpiry(DateTimeOffset deadline) => ExpiresAt(deadline).ToUniversalTime();

    private bool Expired(DateTimeOffset expiresAt) => expiresAt <= timeProvider.GetUtcNow();

    private DateTimeOffset ExpiresAt(DateTimeOffset deadline)
    {
        var now = timeProvider.GetUtcNow();
        var until = deadline + KeepAfterDeadline;
        return until > now + KeepAfterDeadline ? until : now + KeepAfterDeadline;
    }

    private string Key(Guid id) => $"{redis.Options.KeyPrefix}:retry-saga:{id:N}";

    private string TicketKey(Guid id, int attempt) => $"{redis.Options.KeyPrefix}:retry-attempt:{id:N}:{attempt}";

    private long Ttl(DateTimeOffset deadline) => (long)(ExpiresAt(deadline) - timeProvider.GetUtcNow()).TotalMilliseconds;

    /// <summary>Memory holds copies, so an instance being changed by a consumer is never the stored one.</summary>
    private static ChatCompletionRetryState Copy(ChatCompletionRetryState state) =>
        JsonSerializer.Deserialize<ChatCompletionRetryState>(JsonSerializer.Serialize(state))!;

    private sealed record LocalEntry(ChatCompletionRetryState State, DateTimeOffset ExpiresAt);

    private sealed record LocalTicket(string Value, DateTimeOffset ExpiresAt);
}

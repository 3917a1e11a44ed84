using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Redis;
using Broker.TestKit;
using Broker.Workers.Retries;
using Broker.Workers.Tests.RateLimits;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Workers.Tests.Retries;

/// <summary>The store's rules in this process's memory (embedded).</summary>
public sealed class MemoryRetrySagaStoreTests : RetrySagaStoreContract
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));

    protected override DateTimeOffset Now => _time.GetUtcNow();

    public override Task InitializeAsync()
    {
        Store = RetrySagaStoreTests.Store(_time, RetrySagaStoreTests.Embedded);
        Assert.Equal(RetrySagaStoreKind.Memory, Store.Kind);
        return Task.CompletedTask;
    }
}

/// <summary>The store's rules in the real Redis (distributed without a database).</summary>
[Trait("Category", "Integration")]
public sealed class RedisRetrySagaStoreTests : RetrySagaStoreContract
{
    private BrokerRedis? _redis;

    protected override DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    public override async Task InitializeAsync()
    {
        _redis = new BrokerRedis(RedisRoutingStateTests.LocalRedis(), TimeProvider.System, NullLogger<BrokerRedis>.Instance);
        await _redis.ConnectAsync();
        Store = RetrySagaStoreTests.Store(TimeProvider.System, RetrySagaStoreTests.Distributed, connection: _redis);
        Assert.Equal(RetrySagaStoreKind.Redis, Store.Kind);
    }

    public override async Task DisposeAsync()
    {
        Assert.Equal(0, Store.LocalCount);
        Assert.Equal(0, Store.LocalTicketCount);
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>The store's rules in the real PostgreSQL (distributed with a database_url), on a database of its own.</summary>
[Trait("Category", "Integration")]
public sealed class PostgresRetrySagaStoreTests : RetrySagaStoreContract
{
    private TestDatabase? _database;
    private BrokerDatabase? _broker;

    protected override DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    public override async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _broker = new BrokerDatabase(_database.ConnectionString);
        await new DatabaseMigrator(_broker, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateAsync(CancellationToken.None);
        // Redis configured as well: the database is preferred
        Store = RetrySagaStoreTests.Store(TimeProvider.System, RetrySagaStoreTests.Distributed,
            RedisOptions.From(null, null, null, "127.0.0.1:1", "t"), database: _broker);
        Assert.Equal(RetrySagaStoreKind.PostgreSql, Store.Kind);
    }

    [Fact]
    public async Task Insert_ExpiredInstanceWithThatId_ReplacedAndSweptRowsGone()
    {
        var id = Guid.NewGuid();
        await _database!.ExecuteAsync(
            $"INSERT INTO broker_retry_sagas VALUES ('{id}', 7, '{{}}', now() - interval '1 minute'); " +
            $"INSERT INTO broker_retry_attempts VALUES ('{id}', 1, 'run:old', now() - interval '1 minute')");

        Assert.Null(await Store.LoadAsync(id));
        Assert.True(await Store.InsertAsync(new ChatCompletionRetryState { CorrelationId = id, Deadline = Now + TimeSpan.FromMinutes(1), ModelGroup = "new" }));
        Assert.Equal("new", (await Store.LoadAsync(id))!.ModelGroup);
        // the write swept the expired ticket, which would not have held the attempt anyway
        Assert.Equal(0L, await _database.ScalarAsync<long>($"SELECT count(*) FROM broker_retry_attempts WHERE request_id = '{id}'"));
        Assert.True(await Store.StartAttemptAsync(id, 1, Guid.NewGuid(), Now + TimeSpan.FromMinutes(1)));
        Assert.Equal(0, Store.LocalCount);
    }

    public override async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

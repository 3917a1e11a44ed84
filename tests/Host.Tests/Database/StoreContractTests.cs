using Broker.Billing.Persistence;
using Broker.Ingress.Keys;
using Broker.ServiceDefaults.Database;
using Broker.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using NpgsqlTypes;

namespace Broker.Host.Tests.Database;

/// <summary>
/// One contract for both state stores: every test runs against PostgreSQL (a real test database) and the embedded
/// SQLite store, so the two implementations of each capability cannot drift apart.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Expires = new(2031, 5, 6, 7, 8, 9, 123, TimeSpan.Zero);

    protected IIdentityStore Identity { get; set; } = null!;

    protected ISpendWriter Spend { get; set; } = null!;

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    [Fact]
    public async Task InsertKey_AllColumnKinds_ReadBackTheSame()
    {
        var hash = Guid.NewGuid().ToString("N");
        var created = await Identity.InsertKeyAsync(hash, "sk-...abcd", "admin",
        [
            new("key_alias", "alias-" + hash, NpgsqlDbType.Text),
            new("models", new[] { "gpt-4o", "claude" }, NpgsqlDbType.Array | NpgsqlDbType.Text),
            new("max_budget", 12.3456789m, NpgsqlDbType.Numeric),
            new("rpm_limit", 60L, NpgsqlDbType.Bigint),
            new("max_parallel_requests", 3, NpgsqlDbType.Integer),
            new("metadata", """{"team":"a"}""", NpgsqlDbType.Jsonb),
            new("blocked", true, NpgsqlDbType.Boolean),
            new("expires", Expires, NpgsqlDbType.TimestampTz),
        ], CancellationToken.None);

        var read = await Identity.GetKeyAsync(hash, CancellationToken.None);

        Assert.NotNull(created);
        Assert.NotNull(read);
        Assert.Equal(["gpt-4o", "claude"], read.Models);
        Assert.Equal(12.3456789m, read.MaxBudget);
        Assert.Equal(0m, read.Spend);
        Assert.Equal(60L, read.RpmLimit);
        Assert.Null(read.TpmLimit);
        Assert.Equal(3, read.MaxParallelRequests);
        Assert.Equal("team", System.Text.Json.JsonDocument.Parse(read.Metadata).RootElement.EnumerateObject().Single().Name);
        Assert.True(read.Blocked);
        Assert.Equal(Expires, read.Expires);
        Assert.Equal("admin", read.CreatedBy);
        Assert.Equal(created.CreatedAt, read.CreatedAt);
        Assert.Equal(hash, (await Identity.GetKeyByAliasAsync("alias-" + hash, CancellationToken.None))?.TokenHash);
    }

    [Fact]
    public async Task InsertKey_DuplicateAlias_IsAUniqueViolationOnTheAliasIndex()
    {
        var alias = "dup-" + Guid.NewGuid().ToString("N");
        await Identity.InsertKeyAsync(Guid.NewGuid().ToString("N"), "sk-...1", null, [new("key_alias", alias, NpgsqlDbType.Text)], CancellationToken.None);

        var ex = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            Identity.InsertKeyAsync(Guid.NewGuid().ToString("N"), "sk-...2", null, [new("key_alias", alias, NpgsqlDbType.Text)], CancellationToken.None));

        Assert.True(DatabaseErrors.IsUniqueViolation(ex));
        Assert.Equal("broker_keys_alias", DatabaseErrors.UniqueIndex(ex));
    }

    [Fact]
    public async Task UpdateListDelete_KeysOfAUser_FollowTheFilters()
    {
        var user = "u-" + Guid.NewGuid().ToString("N");
        await Identity.InsertUserAsync(user, [new("teams", new[] { "t1" }, NpgsqlDbType.Array | NpgsqlDbType.Text)], CancellationToken.None);
        var keys = new[] { "a", "b", "c" }.Select(k => k + Guid.NewGuid().ToString("N")).ToArray();
        foreach (var key in keys)
        {
            await Identity.InsertKeyAsync(key, "sk-..." + key[..4], null, [new("user_id", user, NpgsqlDbType.Text)], CancellationToken.None);
        }

        var updated = await Identity.UpdateAsync(IdentityRepository.Keys, keys[0], [new("max_budget", 5m, NpgsqlDbType.Numeric), new("max_budget", 7m, NpgsqlDbType.Numeric)], CancellationToken.None);
        var missing = await Identity.UpdateAsync(IdentityRepository.Keys, "no-such-key", [new("blocked", true, NpgsqlDbType.Boolean)], CancellationToken.None);
        var page = await Identity.ListKeysAsync(user, null, null, 1, 1, CancellationToken.None);
        var count = await Identity.CountKeysAsync(user, null, null, CancellationToken.None);
        var ofUser = await Identity.KeyHashesOfAsync(IdentityRepository.Users, [user], CancellationToken.None);
        var deleted = await Identity.DeleteAsync(IdentityRepository.Keys, [keys[1], "no-such-key"], CancellationToken.None);

        Assert.Equal(7m, updated?.MaxBudget);
        Assert.True(updated!.UpdatedAt >= updated.CreatedAt);
        Assert.Null(missing);
        Assert.Equal(3, count);
        Assert.Single(page);
        Assert.Equal(keys.Order(StringComparer.Ordinal), ofUser.Order(StringComparer.Ordinal));
        Assert.Equal([keys[1]], deleted);
        Assert.Null(await Identity.GetKeyAsync(keys[1], CancellationToken.None));
        Assert.Equal(["t1"], (await Identity.GetUserAsync(user, CancellationToken.None))?.Teams);
    }

    [Fact]
    public async Task WriteSpend_RedeliveredEvent_CountedOnceAndAddedToTheKeyOnly()
    {
        var key = "k-" + Guid.NewGuid().ToString("N");
        await Identity.InsertKeyAsync(key, "sk-...k", null, [], CancellationToken.None);
        var first = Billing.SpendWriterTests.Usage(0.1m, key: key, endUser: "eu-" + key, tags: ["x", "x"]);
        var second = Billing.SpendWriterTests.Usage(0.2m, key: key);

        var written = await Spend.WriteAsync([first, second, first], disableSpendLogs: false, CancellationToken.None);
        var again = await Spend.WriteAsync([first], disableSpendLogs: false, CancellationToken.None);

        Assert.Equal(2, written.Inserted);
        Assert.Equal(0, again.Inserted);
        Assert.Empty(again.Totals);
        Assert.Equal(0.3m, written.Totals.Single(t => t.EntityType == "key").Spend);
        Assert.Equal(0.3m, written.Totals.Single(t => t.EntityType == "key").Delta);
        Assert.Equal(0.1m, written.Totals.Single(t => t.EntityType == "end_user").Spend);
        Assert.Equal(0.1m, written.Totals.Single(t => t.EntityType == "tag" && t.EntityId == "x").Spend);
        Assert.Equal(0.3m, (await Identity.GetKeyAsync(key, CancellationToken.None))?.Spend);
        Assert.True((await Identity.GetProxySpendAsync(CancellationToken.None))?.Spend >= 0.3m);
    }

    [Fact]
    public async Task WriteSpend_UnknownKeyAndDisabledLogs_NoTotalForTheKeyAndStillOnce()
    {
        var missingKey = "gone-" + Guid.NewGuid().ToString("N");
        var usage = Billing.SpendWriterTests.Usage(0.5m, key: missingKey);

        var written = await Spend.WriteAsync([usage], disableSpendLogs: true, CancellationToken.None);
        var again = await Spend.WriteAsync([usage], disableSpendLogs: true, CancellationToken.None);

        Assert.Equal(1, written.Inserted);
        Assert.DoesNotContain(written.Totals, t => t.EntityType == "key");
        Assert.Equal(0.5m, written.Totals.Single(t => t.EntityType == "model_group").Delta);
        Assert.Equal(0, again.Inserted);
    }
}

[Trait("Category", "Integration")]
public sealed class PostgresStoreContractTests : StoreContractTests
{
    private TestDatabase _db = null!;
    private BrokerDatabase _database = null!;

    public override async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _database = await Billing.SpendWriterTests.MigratedAsync(_db);
        Identity = new IdentityRepository(_database);
        Spend = new SpendWriter(_database);
    }

    public override async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _db.DisposeAsync();
    }
}

public sealed class SqliteStoreContractTests : StoreContractTests
{
    private BrokerDatabase _database = null!;

    public override async Task InitializeAsync()
    {
        _database = BrokerDatabase.Sqlite(SqliteLocation.Memory());
        await new DatabaseMigrator(_database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateSqliteAsync(CancellationToken.None);
        Identity = new SqliteIdentityStore(_database, TimeProvider.System);
        Spend = new SqliteSpendWriter(_database, TimeProvider.System);
    }

    public override async Task DisposeAsync() => await _database.DisposeAsync();
}

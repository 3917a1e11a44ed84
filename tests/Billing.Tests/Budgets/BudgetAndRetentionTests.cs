using Broker.Billing.Budgets;
using Broker.Billing.Persistence;
using Broker.Config;
using Broker.Config.Loading;
using Broker.ServiceDefaults.Database;
using Broker.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Billing.Tests.Budgets;

[Trait("Category", "Integration")]
public sealed class BudgetAndRetentionTests
{
    private static ProxyConfigProvider Config(string yaml)
    {
        var loaded = ProxyConfigLoader.LoadText(yaml, "test.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
        return new ProxyConfigProvider(loaded.Config!);
    }

    private static async Task<DateTimeOffset> At(TestDatabase db, string sql) =>
        new(DateTime.SpecifyKind(await db.ScalarAsync<DateTime>(sql), DateTimeKind.Utc));

    private const string Yaml = """
        model_list:
          - model_name: m
            litellm_params: { model: openai/gpt-4o, api_key: k }
        litellm_settings:
          max_budget: 100
          budget_duration: 30d
        """;

    [Fact]
    public async Task ResetDue_PeriodEnded_ZeroesSpendAndMovesResetTime()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        var now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        await db.ExecuteAsync("""
            INSERT INTO broker_keys (token_hash, key_name, spend, budget_duration, budget_reset_at) VALUES
                ('due', 'sk-...1', 5, '1d', '2026-11-26T11:00:00Z'),
                ('later', 'sk-...2', 7, '1d', '2026-11-27T11:00:00Z'),
                ('new', 'sk-...3', 3, '30d', NULL),
                ('never', 'sk-...4', 9, NULL, NULL);
            INSERT INTO broker_teams (team_id, spend, budget_duration, budget_reset_at) VALUES ('t', 4, '1mo', '2026-11-01T00:00:00Z');
            INSERT INTO broker_spend_totals (entity_type, entity_id, spend, budget_duration, budget_reset_at)
                VALUES ('proxy', 'global', 50, '30d', '2026-11-25T00:00:00Z');
            """);
        var resetter = new BudgetResetter(database, Config(Yaml));

        var changed = await resetter.ResetDueAsync(now, CancellationToken.None);

        Assert.Equal(0m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'due'"));
        Assert.Equal(now.AddDays(1), await At(db, "SELECT budget_reset_at FROM broker_keys WHERE token_hash = 'due'"));
        Assert.Equal(7m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'later'"));
        Assert.Equal(3m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'new'"));
        Assert.Equal(now.AddDays(30), await At(db, "SELECT budget_reset_at FROM broker_keys WHERE token_hash = 'new'"));
        Assert.Equal(9m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'never'"));
        Assert.Equal(0m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_teams WHERE team_id = 't'"));
        Assert.Equal(now.AddMonths(1), await At(db, "SELECT budget_reset_at FROM broker_teams WHERE team_id = 't'"));
        Assert.Equal(0m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
        Assert.Equal(["key:due", "key:new", "proxy:global", "team:t"],
            changed.Select(c => $"{c.EntityType}:{c.EntityId}").Order(StringComparer.Ordinal));
        Assert.Empty(await resetter.ResetDueAsync(now, CancellationToken.None));
    }

    [Fact]
    public async Task ResetDue_PeriodEndedOnEmbeddedSqlite_ZeroesSpendAndMovesResetTime()
    {
        await using var database = BrokerDatabase.Sqlite(SqliteLocation.Memory());
        await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateSqliteAsync(CancellationToken.None);
        var now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        var t = SqliteValues.Time(now.AddDays(-10));
        await using (var connection = await database.OpenSqliteAsync(CancellationToken.None))
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = $"""
                INSERT INTO broker_keys (token_hash, key_name, spend, budget_duration, budget_reset_at, created_at, updated_at) VALUES
                    ('due', 'sk-...1', '5', '1d', '{SqliteValues.Time(now.AddHours(-1))}', '{t}', '{t}'),
                    ('later', 'sk-...2', '7', '1d', '{SqliteValues.Time(now.AddHours(23))}', '{t}', '{t}'),
                    ('new', 'sk-...3', '3', '30d', NULL, '{t}', '{t}'),
                    ('never', 'sk-...4', '9', NULL, NULL, '{t}', '{t}');
                INSERT INTO broker_teams (team_id, spend, budget_duration, budget_reset_at, created_at, updated_at)
                    VALUES ('t', '4', '1mo', '{SqliteValues.Time(now.AddDays(-25))}', '{t}', '{t}');
                INSERT INTO broker_spend_totals (entity_type, entity_id, spend, budget_duration, budget_reset_at, updated_at)
                    VALUES ('proxy', 'global', '50', '30d', '{SqliteValues.Time(now.AddDays(-1))}', '{t}');
                """;
            await insert.ExecuteNonQueryAsync();
        }

        var resetter = new BudgetResetter(database, Config(Yaml));
        var changed = await resetter.ResetDueAsync(now, CancellationToken.None);

        async Task<(string Spend, string? ResetAt)> Row(string sql)
        {
            await using var connection = await database.OpenSqliteAsync(CancellationToken.None);
            await using var select = connection.CreateCommand();
            select.CommandText = sql;
            await using var reader = await select.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            return (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
        }

        Assert.Equal(("0", SqliteValues.Time(now.AddDays(1))), await Row("SELECT spend, budget_reset_at FROM broker_keys WHERE token_hash = 'due'"));
        Assert.Equal("7", (await Row("SELECT spend, budget_reset_at FROM broker_keys WHERE token_hash = 'later'")).Spend);
        Assert.Equal(("3", SqliteValues.Time(now.AddDays(30))), await Row("SELECT spend, budget_reset_at FROM broker_keys WHERE token_hash = 'new'"));
        Assert.Equal("9", (await Row("SELECT spend, budget_reset_at FROM broker_keys WHERE token_hash = 'never'")).Spend);
        Assert.Equal(("0", SqliteValues.Time(now.AddMonths(1))), await Row("SELECT spend, budget_reset_at FROM broker_teams WHERE team_id = 't'"));
        Assert.Equal("0", (await Row("SELECT spend, budget_reset_at FROM broker_spend_totals WHERE entity_type = 'proxy'")).Spend);
        Assert.Equal(["key:due", "key:new", "proxy:global", "team:t"],
            changed.Select(c => $"{c.EntityType}:{c.EntityId}").Order(StringComparer.Ordinal));
        Assert.Empty(await resetter.ResetDueAsync(now, CancellationToken.None));
    }

    [Fact]
    public async Task ResetDue_ProxyBudgetConfigured_CreatesProxyRowWithResetTime()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        var now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

        var changed = await new BudgetResetter(database, Config(Yaml)).ResetDueAsync(now, CancellationToken.None);

        var proxy = Assert.Single(changed);
        Assert.Equal(("proxy", "global", now.AddDays(30)), (proxy.EntityType, proxy.EntityId, proxy.BudgetResetAt!.Value));
    }

    [Fact]
    public async Task DeleteOlderThan_ManyExpiredRows_DeletesInBoundedChunksAndKeepsRecentOnes()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        await db.ExecuteAsync("""
            INSERT INTO broker_spend_logs (request_id, model_group, deployment_id, provider, prompt_tokens, completion_tokens, total_tokens,
                cost, start_time, end_time, latency_ms, status)
            SELECT gen_random_uuid(), 'm', 'd', 'openai', 1, 1, 2, 0.01, t, t, 1, 'success'
            FROM (SELECT now() - interval '40 days' - i * interval '1 second' AS t FROM generate_series(1, 2500) i
                  UNION ALL SELECT now() - interval '1 day' FROM generate_series(1, 10)) x
            """);

        var (deleted, chunks) = await new SpendRetention(database).DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddDays(-30), 1000, CancellationToken.None);

        Assert.Equal(2500, deleted);
        Assert.Equal(3, chunks);
        Assert.Equal(10L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
    }

    [Fact]
    public async Task DeleteOlderThan_ExpiredAttempts_DeletedLikeSpendLogsRecentOnesKept()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        await db.ExecuteAsync("""
            INSERT INTO broker_request_attempts (attempt_id, request_id, attempt, original_model_group, model_group, status_code, started_at, latency_ms)
            SELECT gen_random_uuid(), gen_random_uuid(), 1, 'm', 'm', 200, t, 1
            FROM (SELECT now() - interval '40 days' AS t FROM generate_series(1, 3)
                  UNION ALL SELECT now() - interval '1 day' FROM generate_series(1, 2)) x
            """);

        await new SpendRetention(database).DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddDays(-30), 1000, CancellationToken.None);

        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_request_attempts"));
    }

    [Fact]
    public async Task DeleteOlderThan_ExpiredLateGuardrailDecisions_DeletedLikeSpendLogsRecentOnesKept()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        await db.ExecuteAsync("""
            INSERT INTO broker_spend_guardrails (request_id, guardrails, decided_at)
            SELECT gen_random_uuid(), '[{"guardrail":"g","mode":"post_call","decision":"allowed","latency_ms":1}]', t
            FROM (SELECT now() - interval '40 days' AS t FROM generate_series(1, 3)
                  UNION ALL SELECT now() - interval '1 day' FROM generate_series(1, 2)) x
            """);

        await new SpendRetention(database).DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddDays(-30), 1000, CancellationToken.None);

        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_guardrails"));
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("15m", 900)]
    [InlineData("24h", 86400)]
    [InlineData("7d", 604800)]
    [InlineData("2w", 1209600)]
    [InlineData("1.5h", 5400)]
    [InlineData("3600", 3600)]
    public void NextReset_Durations_AddTheirLength(string duration, int seconds)
    {
        var from = new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(from.AddSeconds(seconds), BudgetDuration.NextReset(duration, from));
    }

    [Fact]
    public void NextReset_Month_AddsCalendarMonth() =>
        Assert.Equal(new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.Zero),
            BudgetDuration.NextReset("1mo", new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero)));
}

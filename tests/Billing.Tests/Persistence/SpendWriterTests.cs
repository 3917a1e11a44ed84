using Broker.Billing.Persistence;
using Broker.TestKit;

namespace Broker.Billing.Tests.Persistence;

[Trait("Category", "Integration")]
public sealed class SpendWriterTests
{
    [Fact]
    public async Task Write_NulAndLoneSurrogatesInClientText_StoredCleanedNotRefused()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        var writer = new SpendWriter(database);
        var poisoned = SpendSamples.Usage(0.25m, key: "k\0nul", endUser: "bad\0user\ud800", tags: ["t\0ag", "\udc00x"]) with
        {
            Messages = """[{"role":"user","content":"a\u0000b \ud800 \\u0000 ok"}]""",
            Response = "\"x\\u0000\"",
        };

        var result = await writer.WriteAsync([poisoned, SpendSamples.Usage(0.5m, endUser: "fine")], disableSpendLogs: false, CancellationToken.None);

        Assert.Equal(2, result.Inserted);
        Assert.Equal("baduser\uFFFD", await db.ScalarAsync<string>($"SELECT end_user FROM broker_spend_logs WHERE request_id = '{poisoned.RequestId}'"));
        Assert.Equal("knul", await db.ScalarAsync<string>($"SELECT key_hash FROM broker_spend_logs WHERE request_id = '{poisoned.RequestId}'"));
        Assert.Equal("tag,\uFFFDx", await db.ScalarAsync<string>($"SELECT array_to_string(tags, ',') FROM broker_spend_logs WHERE request_id = '{poisoned.RequestId}'"));
        // the escaped backslash followed by u0000 is text, not an escape, and stays
        Assert.Equal("ab \uFFFD \\u0000 ok", await db.ScalarAsync<string>($"SELECT messages->0->>'content' FROM broker_spend_logs WHERE request_id = '{poisoned.RequestId}'"));
        Assert.Equal(0.75m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
        Assert.Equal(0.25m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'end_user' AND entity_id = 'baduser\uFFFD'"));
    }

    [Fact]
    public async Task Write_BatchWithDuplicates_CountsEachRequestOnceAndAggregatesPerEntity()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        await db.ExecuteAsync("""
            INSERT INTO broker_keys (token_hash, key_name, user_id, team_id, max_budget) VALUES ('k1', 'sk-...k1', 'u1', 't1', 10), ('k2', 'sk-...k2', 'u1', NULL, NULL);
            INSERT INTO broker_users (user_id) VALUES ('u1');
            INSERT INTO broker_teams (team_id) VALUES ('t1');
            """);
        var writer = new SpendWriter(database);
        var repeated = SpendSamples.Usage(0.25m, user: "u1", team: "t1", endUser: "alice", tags: ["a", "b"]);
        var first = new[]
        {
            repeated, repeated, SpendSamples.Usage(0.5m, user: "u1", team: "t1"), SpendSamples.Usage(1.125m, key: "k2", user: "u1"),
            SpendSamples.Usage(3m, key: "k2", succeeded: false), SpendSamples.Usage(0.0000001m, key: "unknown-key"),
        };

        var result = await writer.WriteAsync(first, disableSpendLogs: false, CancellationToken.None);
        var again = await writer.WriteAsync([repeated, first[2]], disableSpendLogs: false, CancellationToken.None);

        Assert.Equal(5, result.Inserted);
        Assert.Equal(0, again.Inserted);
        Assert.Equal(0.75m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'k1'"));
        Assert.Equal(1.125m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'k2'"));
        Assert.Equal(1.875m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_users WHERE user_id = 'u1'"));
        Assert.Equal(0.75m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_teams WHERE team_id = 't1'"));
        Assert.Equal(1.8750001m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy' AND entity_id = 'global'"));
        Assert.Equal(0.25m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'end_user' AND entity_id = 'alice'"));
        Assert.Equal(0.25m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'tag' AND entity_id = 'b'"));
        Assert.Equal(5L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
        Assert.Equal(0m, await db.ScalarAsync<decimal>("SELECT cost FROM broker_spend_logs WHERE status = 'failure'"));
        var k1 = Assert.Single(result.Totals, t => t is { EntityType: "key", EntityId: "k1" });
        Assert.Equal((0.75m, 0.75m, 10m, "u1", "t1"), (k1.Spend, k1.Delta, k1.MaxBudget!.Value, k1.UserId!, k1.TeamId!));
    }

    [Fact]
    public async Task Write_DisableSpendLogs_KeepsNoLogRowsButCountsOnce()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var database = await SpendSamples.MigratedAsync(db);
        await db.ExecuteAsync("INSERT INTO broker_keys (token_hash, key_name) VALUES ('k1', 'sk-...k1')");
        var writer = new SpendWriter(database);
        var usage = SpendSamples.Usage(2m);

        await writer.WriteAsync([usage, SpendSamples.Usage(1m)], disableSpendLogs: true, CancellationToken.None);
        await writer.WriteAsync([usage], disableSpendLogs: true, CancellationToken.None);

        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
        Assert.Equal(3m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'k1'"));
    }
}

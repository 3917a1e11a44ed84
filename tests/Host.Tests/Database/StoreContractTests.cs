using System.Text.Json.Nodes;
using Broker.Billing.History;
using Broker.Billing.Persistence;
using Broker.Contracts.Inference;
using Broker.Contracts.Usage;
using Broker.Ingress.Features.Batches;
using Broker.Ingress.Features.Files;
using Broker.Ingress.Features.Spend;
using Broker.Ingress.Keys;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Models;
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

    protected IFileStore Files { get; set; } = null!;

    protected IBatchStore Batches { get; set; } = null!;

    protected IModelStore Models { get; set; } = null!;

    protected IRequestAttemptStore Attempts { get; set; } = null!;

    protected BrokerDatabase Database { get; set; } = null!;

    /// <summary>The rows of a table now.</summary>
    protected abstract Task<long> CountAsync(string table);

    /// <summary>Adds a pending line to a batch (what the validator writes).</summary>
    protected abstract Task AddLineAsync(string batchId, int lineNo, string modelGroup);

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
        var first = SpendSamples.Usage(0.1m, key: key, endUser: "eu-" + key, tags: ["x", "x"]);
        var second = SpendSamples.Usage(0.2m, key: key);

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
    public async Task Files_ChunkedContentOwnerScopeAndCursor_SameFromEitherStore()
    {
        var owner = "o-" + Guid.NewGuid().ToString("N");
        var content = Enumerable.Range(0, FileStore.ChunkSize * 2 + 123).Select(i => (byte)(i % 251)).ToArray();
        var first = await Files.CreateAsync(owner, "batch", "a.jsonl", new MemoryStream(content), FileStore.MaxBytes, CancellationToken.None);
        var second = await Files.CreateAsync(owner, "batch_output", "b.jsonl", new MemoryStream("x"u8.ToArray()), FileStore.MaxBytes, CancellationToken.None);
        var tooBig = await Files.CreateAsync(owner, "batch", "c.jsonl", new MemoryStream(new byte[100]), 10, CancellationToken.None);

        using var copy = new MemoryStream();
        await Files.CopyContentAsync(first!.Id, copy, CancellationToken.None);
        var newestFirst = await Files.ListAsync(owner, null, null, 10, ascending: false, CancellationToken.None);
        var afterNewest = await Files.ListAsync(owner, null, second!.Id, 10, ascending: false, CancellationToken.None);
        var outputs = await Files.ListAsync(owner, "batch_output", null, 10, ascending: true, CancellationToken.None);

        Assert.Null(tooBig);
        Assert.Equal(content.Length, first.Bytes);
        Assert.Equal(content, copy.ToArray());
        Assert.Equal([second.Id, first.Id], newestFirst.Select(f => f.Id));
        Assert.Equal([first.Id], afterNewest.Select(f => f.Id));
        Assert.Equal([second.Id], outputs.Select(f => f.Id));
        var read = await Files.GetAsync(owner, first.Id, CancellationToken.None);
        Assert.Equal((first.Owner, "batch", "a.jsonl", (long)content.Length, "processed"), (read!.Owner, read.Purpose, read.Filename, read.Bytes, read.Status));
        Assert.True((read.CreatedAt - first.CreatedAt).Duration() < TimeSpan.FromMilliseconds(1));
        Assert.Null(await Files.GetAsync("someone-else", first.Id, CancellationToken.None));
        Assert.False(await Files.DeleteAsync("someone-else", first.Id, CancellationToken.None));
        Assert.True(await Files.DeleteAsync(owner, first.Id, CancellationToken.None));
        Assert.Null(await Files.GetAsync(owner, first.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Batches_ClaimRecordSweep_EachLineLeasedOnceAndTheBatchReadyAtTheEnd()
    {
        var owner = "o-" + Guid.NewGuid().ToString("N");
        var group = "g-" + Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow;
        var batch = new BatchRecord
        {
            Id = Batches.NewId(), Owner = owner, Endpoint = "/v1/chat/completions", InputFileId = "file-x", CompletionWindow = "24h",
            Status = "validating", CreatedAt = now, ExpiresAt = now.AddHours(24), Metadata = """{"a":"b"}""",
        };
        await Batches.InsertAsync(batch, """{"KeyHash":"k"}""", CancellationToken.None);
        for (var i = 1; i <= 3; i++)
        {
            await AddLineAsync(batch.Id, i, group);
        }

        var notStarted = await Batches.ClaimAsync(group, 10, now.AddMinutes(5), CancellationToken.None);
        await SetInProgressAsync(batch.Id);
        var claimed = await Batches.ClaimAsync(group, 2, now.AddMinutes(5), CancellationToken.None);
        var rest = await Batches.ClaimAsync(group, 10, now.AddMinutes(5), CancellationToken.None);
        var none = await Batches.ClaimAsync(group, 10, now.AddMinutes(5), CancellationToken.None);
        await Batches.ReleaseAsync([rest[0].RequestId], CancellationToken.None);
        var again = await Batches.ClaimAsync(group, 10, now.AddMinutes(5), CancellationToken.None);
        var counted = await Batches.RecordManyAsync([.. claimed.Concat(again).Select(l => new LineResult(l.BatchId, l.LineNo, "done", "{}"))], CancellationToken.None);
        var late = await Batches.RecordManyAsync([new LineResult(batch.Id, 1, "failed", "{}")], CancellationToken.None);
        var live = await Batches.GetAsync(owner, batch.Id, CancellationToken.None);
        var ready = await Batches.SweepAsync(CancellationToken.None);

        Assert.Empty(notStarted);
        Assert.Equal([1, 2], claimed.Select(l => l.LineNo));
        Assert.All(claimed, l => Assert.Equal(("/v1/chat/completions", """{"KeyHash":"k"}""", 1), (l.Endpoint, l.Caller?.Replace(" ", "", StringComparison.Ordinal), l.Attempts)));
        Assert.Equal([3], rest.Select(l => l.LineNo));
        Assert.Empty(none);
        Assert.Equal(2, again.Single().Attempts);
        Assert.NotEqual(rest[0].RequestId, again[0].RequestId);
        Assert.Equal(3, counted);
        Assert.Equal(0, late);
        Assert.Equal((3, 3, 0), (live!.Total, live.Completed, live.Failed));
        Assert.Equal("b", System.Text.Json.JsonDocument.Parse(live.Metadata!).RootElement.GetProperty("a").GetString());
        Assert.Contains(batch.Id, ready);
        Assert.Equal(3, (await Batches.CountByStatusAsync(batch.Id, CancellationToken.None))["done"]);
        Assert.Single(await Batches.ListAsync(owner, null, 10, CancellationToken.None));
        Assert.Null(await Batches.GetAsync("someone-else", batch.Id, CancellationToken.None));
        Assert.Equal("in_progress", (await Batches.CancelAsync("someone-else", batch.Id, CancellationToken.None))?.Status ?? "in_progress");
        Assert.Equal("cancelling", (await Batches.CancelAsync(owner, batch.Id, CancellationToken.None))?.Status);
    }

    [Fact]
    public async Task SpendReport_SpendOnTwoDaysByTeamModelAndKey_TheSameAnswerFromEitherStore()
    {
        var day1 = new DateTimeOffset(2026, 1, 10, 10, 0, 0, TimeSpan.Zero);
        var day2 = new DateTimeOffset(2026, 1, 11, 23, 59, 59, TimeSpan.Zero);
        UsageRecorded At(decimal cost, string key, string? team, string model, DateTimeOffset at) =>
            SpendSamples.Usage(cost, key: key, team: team) with { ModelGroup = model, CompletedAt = at };
        await Spend.WriteAsync(
        [
            At(0.1m, "kA", "t-b", "m-1", day1), At(0.25m, "kA", "t-b", "m-2", day1), At(0.5m, "kB", null, "m-1", day1),
            At(1.5m, "kB", "t-a", "m-1", day1), At(0.05m, "kA", "t-a", "m-2", day2),
            At(9m, "kA", "t-a", "m-1", day2.AddSeconds(1)), // the next day: outside the range
        ], disableSpendLogs: false, CancellationToken.None);
        var (start, end) = (new DateTimeOffset(2026, 1, 10, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 12, 0, 0, 0, TimeSpan.Zero));

        var byTeam = await SpendReport.BuildAsync(Database, "team", start, end, CancellationToken.None);
        var byModel = await SpendReport.BuildAsync(Database, "model", start, end, CancellationToken.None);
        var byKey = await SpendReport.BuildAsync(Database, "api_key", start, end, CancellationToken.None);
        var byDay = await SpendReport.BuildAsync(Database, "day", start, null, CancellationToken.None);

        Assert.Equal(
            """[{"group_by_day":"2026-01-10T00:00:00.000Z","total_spend":2.35,"total_tokens":60,"request_count":4,"teams":[""" +
            """{"team_name":"t-a","total_spend":1.5,"total_tokens":15,"request_count":1,"metadata":[{"model":"m-1","spend":1.5,"total_tokens":15,"request_count":1}]},""" +
            """{"team_name":"t-b","total_spend":0.35,"total_tokens":30,"request_count":2,"metadata":[{"model":"m-1","spend":0.1,"total_tokens":15,"request_count":1},{"model":"m-2","spend":0.25,"total_tokens":15,"request_count":1}]},""" +
            """{"team_name":"Unassigned","total_spend":0.5,"total_tokens":15,"request_count":1,"metadata":[{"model":"m-1","spend":0.5,"total_tokens":15,"request_count":1}]}]},""" +
            """{"group_by_day":"2026-01-11T00:00:00.000Z","total_spend":0.05,"total_tokens":15,"request_count":1,"teams":[""" +
            """{"team_name":"t-a","total_spend":0.05,"total_tokens":15,"request_count":1,"metadata":[{"model":"m-2","spend":0.05,"total_tokens":15,"request_count":1}]}]}]""",
            byTeam.ToJsonString());
        Assert.Equal(
            """[{"group_by_day":"2026-01-10T00:00:00.000Z","total_spend":2.35,"total_tokens":60,"request_count":4,"models":[""" +
            """{"model":"m-1","total_spend":2.1,"total_tokens":45,"total_input_tokens":30,"total_output_tokens":15,"request_count":3},""" +
            """{"model":"m-2","total_spend":0.25,"total_tokens":15,"total_input_tokens":10,"total_output_tokens":5,"request_count":1}]},""" +
            """{"group_by_day":"2026-01-11T00:00:00.000Z","total_spend":0.05,"total_tokens":15,"request_count":1,"models":[""" +
            """{"model":"m-2","total_spend":0.05,"total_tokens":15,"total_input_tokens":10,"total_output_tokens":5,"request_count":1}]}]""",
            byModel.ToJsonString());
        Assert.Equal(["kA", "kB"], byKey[0]!["api_keys"]!.AsArray().Select(k => k!["api_key"]!.GetValue<string>()));
        Assert.Equal(0.35m, byKey[0]!["api_keys"]![0]!["total_spend"]!.GetValue<decimal>());
        Assert.Equal([2.35m, 0.05m, 9m], byDay.Select(d => d!["total_spend"]!.GetValue<decimal>()));
        Assert.Equal(["group_by_day", "total_spend", "total_tokens", "request_count"], byDay[0]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Retention_ExpiredSpendLogsAndAttempts_DeletedInChunksRecentKept()
    {
        var now = DateTimeOffset.UtcNow;
        var old = Enumerable.Range(0, 25).Select(i => SpendSamples.Usage(0.01m) with { CompletedAt = now.AddDays(-40).AddSeconds(-i) });
        var recent = Enumerable.Range(0, 2).Select(_ => SpendSamples.Usage(0.01m) with { CompletedAt = now.AddDays(-1) });
        await Spend.WriteAsync([.. old, .. recent], disableSpendLogs: false, CancellationToken.None);
        await Attempts.AddAsync(
        [
            Attempt(now.AddDays(-40)), Attempt(now.AddDays(-40)), Attempt(now.AddDays(-30).AddMinutes(-30)), Attempt(now.AddDays(-1)),
        ], CancellationToken.None);

        var (deleted, chunks) = await new SpendRetention(Database).DeleteOlderThanAsync(now.AddDays(-30), 10, CancellationToken.None);
        var again = await new SpendRetention(Database).DeleteOlderThanAsync(now.AddDays(-30), 10, CancellationToken.None);

        Assert.Equal(25, deleted);
        Assert.Equal(3 + 1, chunks); // 10 + 10 + 5 spend logs, then the 2 attempts over an hour older than the cutoff
        Assert.Equal((0L, 0), again);
        Assert.Equal(2L, await CountAsync("broker_spend_logs"));
        // the attempt within the hour's margin stays with the recent one
        Assert.Equal(2L, await CountAsync("broker_request_attempts"));
    }

    [Fact]
    public async Task AddGuardrails_BeforeTheRowAfterItAndRedelivered_KeptOncePerRequest()
    {
        var usage = SpendSamples.Usage(0.01m);
        GuardrailsDecided Decided(Guid requestId) => new()
        {
            RequestId = requestId,
            Guardrails = [new GuardrailOutcome { Guardrail = "g", Mode = "post_call", Decision = "blocked", LatencyMs = 2.5 }],
            DecidedAt = DateTimeOffset.UtcNow,
        };

        var early = await Spend.AddGuardrailsAsync([Decided(usage.RequestId)], CancellationToken.None);
        await Spend.WriteAsync([usage], disableSpendLogs: false, CancellationToken.None);
        var redelivered = await Spend.AddGuardrailsAsync([Decided(usage.RequestId), Decided(usage.RequestId)], CancellationToken.None);
        var other = Guid.NewGuid();
        var twiceInOneBatch = await Spend.AddGuardrailsAsync([Decided(other), Decided(other)], CancellationToken.None);
        var none = await Spend.AddGuardrailsAsync([Decided(Guid.NewGuid()) with { Guardrails = [] }], CancellationToken.None);

        Assert.Equal((1, 0, 1, 0), (early, redelivered, twiceInOneBatch, none));
        Assert.Equal(2L, await CountAsync("broker_spend_guardrails"));
        Assert.Equal(1L, await CountAsync("broker_spend_logs"));
    }

    private static InferenceAttempted Attempt(DateTimeOffset startedAt) => new()
    {
        RequestId = Guid.NewGuid(), AttemptId = Guid.NewGuid(), Attempt = 1, OriginalModelGroup = "m", ModelGroup = "m", DeploymentId = "d",
        StatusCode = 200, StartedAt = startedAt, LatencyMs = 1,
    };

    [Fact]
    public async Task Models_InsertUpdateListDelete_KeptAsGivenInEitherStore()
    {
        var id = "m-" + Guid.NewGuid().ToString("N");
        var entry = new Config.Model.RuntimeModelEntry
        {
            Id = id,
            ModelName = "runtime-" + id,
            LitellmParams = """{"model":"openai/gpt-4o","api_key":"os.environ/OPENAI_API_KEY","api_base":"http://a/v1","rpm":10}""",
            ModelInfo = """{"description":"x"}""",
        };

        var created = await Models.InsertAsync(entry, "proxy_admin", CancellationToken.None);
        var duplicate = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => Models.InsertAsync(entry, null, CancellationToken.None));
        var updated = await Models.UpdateAsync(entry with { ModelName = "renamed-" + id, LitellmParams = """{"model":"openai/gpt-4o","api_base":"http://b/v1"}""" }, CancellationToken.None);
        var missing = await Models.UpdateAsync(entry with { Id = "no-such-" + id }, CancellationToken.None);
        var listed = (await Models.ListAsync(CancellationToken.None)).Single(m => m.Entry.Id == id);
        var read = await Models.GetAsync(id, CancellationToken.None);
        var deleted = await Models.DeleteAsync(id, CancellationToken.None);
        var deletedAgain = await Models.DeleteAsync(id, CancellationToken.None);

        Assert.True(DatabaseErrors.IsUniqueViolation(duplicate));
        Assert.Equal("os.environ/OPENAI_API_KEY", JsonNode.Parse(created.Entry.LitellmParams)!["api_key"]!.GetValue<string>());
        Assert.Equal(10, JsonNode.Parse(created.Entry.LitellmParams)!["rpm"]!.GetValue<int>());
        Assert.Equal("x", JsonNode.Parse(created.Entry.ModelInfo)!["description"]!.GetValue<string>());
        Assert.Equal(("proxy_admin", created.CreatedAt), (created.CreatedBy, created.UpdatedAt));
        Assert.Equal("renamed-" + id, updated!.Entry.ModelName);
        Assert.True(updated.UpdatedAt >= created.CreatedAt);
        Assert.True((updated.CreatedAt - created.CreatedAt).Duration() < TimeSpan.FromMilliseconds(1));
        Assert.Null(missing);
        Assert.Equal("http://b/v1", JsonNode.Parse(listed.Entry.LitellmParams)!["api_base"]!.GetValue<string>());
        Assert.Null(JsonNode.Parse(read!.Entry.LitellmParams)!["api_key"]);
        Assert.True(deleted);
        Assert.False(deletedAgain);
        Assert.Null(await Models.GetAsync(id, CancellationToken.None));
    }

    /// <summary>Moves a batch to in_progress (what the validator does once its lines are in).</summary>
    protected abstract Task SetInProgressAsync(string batchId);

    [Fact]
    public async Task WriteSpend_UnknownKeyAndDisabledLogs_NoTotalForTheKeyAndStillOnce()
    {
        var missingKey = "gone-" + Guid.NewGuid().ToString("N");
        var usage = SpendSamples.Usage(0.5m, key: missingKey);

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
        _database = await SpendSamples.MigratedAsync(_db);
        Identity = new IdentityRepository(_database);
        Spend = new SpendWriter(_database);
        Files = new FileStore(_database, TimeProvider.System);
        Batches = new BatchStore(_database, TimeProvider.System);
        Models = new PostgresModelStore(_database, TimeProvider.System);
        Attempts = new PostgresRequestAttemptStore(_database);
        Database = _database;
    }

    protected override async Task<long> CountAsync(string table) => await _db.ScalarAsync<long>($"SELECT count(*) FROM {table}");

    protected override Task AddLineAsync(string batchId, int lineNo, string modelGroup) => _db.ExecuteAsync(
        $"INSERT INTO broker_batch_lines (batch_id, line_no, custom_id, model_group, requested_model, body) VALUES ('{batchId}', {lineNo}, 'c{lineNo}', '{modelGroup}', 'm', '{{}}')");

    protected override Task SetInProgressAsync(string batchId) => _db.ExecuteAsync($"UPDATE broker_batches SET status = 'in_progress' WHERE id = '{batchId}'");

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
        Files = new SqliteFileStore(_database, TimeProvider.System);
        Batches = new SqliteBatchStore(_database, TimeProvider.System);
        Models = new SqliteModelStore(_database, TimeProvider.System);
        Attempts = new SqliteRequestAttemptStore(_database);
        Database = _database;
    }

    protected override async Task<long> CountAsync(string table)
    {
        await using var connection = await _database.OpenSqliteAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    protected override Task AddLineAsync(string batchId, int lineNo, string modelGroup) => ExecuteAsync(
        "INSERT INTO broker_batch_lines (batch_id, line_no, custom_id, model_group, requested_model, body) VALUES ($p0, $p1, $p2, $p3, 'm', '{}')",
        batchId, lineNo, "c" + lineNo, modelGroup);

    protected override Task SetInProgressAsync(string batchId) => ExecuteAsync("UPDATE broker_batches SET status = 'in_progress' WHERE id = $p0", batchId);

    private async Task ExecuteAsync(string sql, params object?[] values)
    {
        await using var connection = await _database.OpenSqliteAsync(CancellationToken.None);
        await using var command = SqliteBatchStore.Command(connection, null, sql, values);
        await command.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync() => await _database.DisposeAsync();
}

using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Cli;
using Broker.Host.Tests.Infrastructure;
using Broker.ServiceDefaults.Database;
using Broker.TestKit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Database;

/// <summary><c>broker migrate-db</c>: a real SQLite file of a broker copied into a real PostgreSQL database, then served from there.</summary>
[Trait("Category", "Integration")]
public sealed class MigrateDbTests
{
    private const string RuntimeModels = "  store_model_in_db: true";

    // a post_call guardrail the chat asks for: its decision is kept beside the spend row (broker_spend_guardrails)
    private const string AnswerGuardrail = """
        guardrails:
          - guardrail_name: answer-secrets
            litellm_params: {guardrail: hide_secrets, mode: post_call}
        """;

    [Fact]
    public async Task MigrateDb_SqliteFileOfABroker_PostgresBrokerAcceptsTheKeyAndShowsItsSpendFilesBatchesAndHistory()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}", "broker.db");
        var settings = new Dictionary<string, string?> { ["Database:EmbeddedPath"] = file, ["Ingress:BatchPollSeconds"] = "0.2" };
        var ids = new List<string> { "line-1", "line-2" };
        try
        {
            string key, requestId, batchId, inputId, outputId;
            decimal spend;
            await using (var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, databaseUrl: null, RuntimeModels, AnswerGuardrail), settings: settings))
            {
                var (modelStatus, _, _) = await PostAsync(broker.Http, "model/new", MasterKey, new
                {
                    model_name = "moved-model",
                    litellm_params = new { model = "openai/gpt-4o", api_base = upstream.BaseUrl + "/v1", api_key = "upstream-key" },
                });
                Assert.Equal(HttpStatusCode.OK, modelStatus);
                var (_, team, _) = await PostAsync(broker.Http, "team/new", MasterKey, new { team_alias = "research" });
                Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "u-moved", user_email = "u@example.com", auto_create_key = false })).Status);
                key = await GenerateKeyAsync(broker.Http, new
                {
                    key_alias = "moved", user_id = "u-moved", team_id = team!["team_id"]!.GetValue<string>(), max_budget = 10, models = new[] { "gpt-4o" },
                });
                var (status, body, response) = await PostAsync(broker.Http, "v1/chat/completions", key, new JsonObject
                {
                    ["model"] = "gpt-4o",
                    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
                    ["guardrails"] = new JsonArray("answer-secrets"),
                });
                Assert.True(status == HttpStatusCode.OK, $"chat: {status} {body}");
                requestId = response.Headers.GetValues("x-litellm-call-id").Single();
                var client = new Batches.BatchTestClient(broker, key);
                inputId = await client.UploadAsync(string.Join("\n", ids.Select(id => Batches.BatchTestClient.ChatLine(id, "gpt-4o"))) + "\n");
                batchId = (await client.CreateAsync(inputId))["id"]!.GetValue<string>();
                var batch = await client.WaitAsync(batchId, TimeSpan.FromSeconds(60));
                Assert.Equal("completed", batch["status"]!.GetValue<string>());
                outputId = batch["output_file_id"]!.GetValue<string>();
                Assert.True(await EventuallyAsync(async () => (await SpendLogsAsync(broker.Http, key)).Count == 3, TimeSpan.FromSeconds(30)), "spend logs never showed");
                Assert.True(await EventuallyAsync(async () => PostCallDecisions(await SpendLogsAsync(broker.Http, key), requestId) == "answer-secrets:allowed",
                    TimeSpan.FromSeconds(30)), "the post_call decision never showed");
                Assert.True(await EventuallyAsync(async () => (await GetAsync(broker.Http, "request/" + requestId, MasterKey)).Status == HttpStatusCode.OK,
                    TimeSpan.FromSeconds(30)), "the attempt history never showed");
                spend = (await GetAsync(broker.Http, "key/info?key=" + key, MasterKey)).Body!["info"]!["spend"]!.GetValue<decimal>();
            }

            var source = await SqliteCountsAsync(file);
            var (code, stdout, stderr) = await MigrateDbAsync("--from", "sqlite://" + file, "--to", db.Url);

            Assert.True(code == 0, $"migrate-db exited {code}: {stderr}");
            Assert.All(StateTables.Copied.Where(t => t != "broker_spend_counted"), t => Assert.True(source[t] > 0, $"{t} is empty in the source: the test covers too little"));
            foreach (var table in StateTables.Copied)
            {
                Assert.Equal(source[table], await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
                Assert.Contains($"{table}: {source[table]} row(s)", stdout, StringComparison.Ordinal);
            }

            Assert.True(spend > 0);
            await using (var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, RuntimeModels, AnswerGuardrail), settings: settings))
            {
                var (movedStatus, movedBody, _) = await ChatAsync(broker.Http, MasterKey, "moved-model");
                Assert.True(movedStatus == HttpStatusCode.OK, $"the migrated runtime model on PostgreSQL: {movedStatus} {movedBody}");
                var (infoStatus, info) = await GetAsync(broker.Http, "key/info?key=" + key, MasterKey);
                var (status, body, _) = await ChatAsync(broker.Http, key);
                var logs = await SpendLogsAsync(broker.Http, key);
                var (historyStatus, history) = await GetAsync(broker.Http, "request/" + requestId, MasterKey);
                var client = new Batches.BatchTestClient(broker, key);
                var batch = await client.GetAsync(batchId);
                var input = await client.DownloadLinesAsync(inputId);
                var output = await client.DownloadLinesAsync(outputId);

                Assert.Equal(HttpStatusCode.OK, infoStatus);
                Assert.Equal(("moved", "u-moved", spend), (info!["info"]!["key_alias"]!.GetValue<string>(), info["info"]!["user_id"]!.GetValue<string>(),
                    info["info"]!["spend"]!.GetValue<decimal>()));
                Assert.True(status == HttpStatusCode.OK, $"the migrated key on PostgreSQL: {status} {body}");
                Assert.Contains(logs, row => row!["request_id"]!.GetValue<string>() == requestId);
                Assert.Equal("answer-secrets:allowed", PostCallDecisions(logs, requestId));
                Assert.True(logs.Count >= 3);
                Assert.True(historyStatus == HttpStatusCode.OK, $"history: {historyStatus} {history}");
                Assert.Equal("completed", batch["status"]!.GetValue<string>());
                Assert.Equal(ids, input.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
                Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
            }

            // the target now holds state: refused unless --force, which replaces it with the file's
            var (again, _, refused) = await MigrateDbAsync("--from", file, "--to", db.ConnectionString);
            var (forced, _, forcedError) = await MigrateDbAsync("--from", file, "--to", db.ConnectionString, "--force");

            Assert.Equal(1, again);
            Assert.Contains("already holds Broker state", refused, StringComparison.Ordinal);
            Assert.Contains("--force", refused, StringComparison.Ordinal);
            Assert.True(forced == 0, forcedError);
            Assert.Equal(source["broker_spend_logs"], await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public async Task MigrateDb_BadSourceOrTarget_NonZeroWithAClearMessageAndNothingCopied()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}");
        var file = Path.Combine(folder, "broker.db");
        try
        {
            await using (var database = BrokerDatabase.Sqlite(SqliteLocation.File(file)))
            {
                await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateSqliteAsync(CancellationToken.None);
            }

            var missing = await MigrateDbAsync("--from", Path.Combine(folder, "nope.db"), "--to", "postgresql://broker:broker@127.0.0.1:5432/x");
            var toSqlite = await MigrateDbAsync("--from", file, "--to", "sqlite:///tmp/other.db");
            var unreachable = await MigrateDbAsync("--from", file, "--to", "postgresql://broker:broker@127.0.0.1:1/nothing");
            SqliteConnection.ClearAllPools();
            await using (var connection = new SqliteConnection($"Data Source={file}"))
            {
                await connection.OpenAsync();
                await using var create = connection.CreateCommand();
                create.CommandText = "CREATE TABLE broker_runtime_things (id TEXT PRIMARY KEY)";
                await create.ExecuteNonQueryAsync();
            }

            var unknown = await MigrateDbAsync("--from", file, "--to", "postgresql://broker:broker@127.0.0.1:1/nothing");

            Assert.Equal(1, missing.Code);
            Assert.Contains("no SQLite file at " + Path.Combine(folder, "nope.db"), missing.Stderr, StringComparison.Ordinal);
            Assert.Equal(2, toSqlite.Code);
            Assert.Contains("must be a PostgreSQL database", toSqlite.Stderr, StringComparison.Ordinal);
            Assert.Equal(1, unreachable.Code);
            Assert.Contains("PostgreSQL 127.0.0.1:1/nothing", unreachable.Stderr, StringComparison.Ordinal);
            Assert.Equal(1, unknown.Code);
            Assert.Contains("broker_runtime_things", unknown.Stderr, StringComparison.Ordinal);
            Assert.All(new[] { missing, toSqlite, unreachable, unknown }, r => Assert.Equal("", r.Stdout));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task StateTables_EveryTableOfTheSqliteSchema_CopiedOrKeptApartByName()
    {
        await using var database = BrokerDatabase.Sqlite(SqliteLocation.Memory());
        await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateSqliteAsync(CancellationToken.None);
        await using var connection = await database.OpenSqliteAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        var tables = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        // a table added to the schema must be added to StateTables (one line) or migrate-db refuses files that have it
        Assert.Equal(tables, StateTables.Copied.Concat(StateTables.NotCopied).Order(StringComparer.Ordinal));
    }

    private static async Task<(int Code, string Stdout, string Stderr)> MigrateDbAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await BrokerCli.InvokeAsync(["migrate-db", .. args], stdout, stderr, _ => null);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static async Task<Dictionary<string, long>> SqliteCountsAsync(string file)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        foreach (var table in StateTables.Copied)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT count(*) FROM {table}";
            counts[table] = (long)(await command.ExecuteScalarAsync())!;
        }

        return counts;
    }

    /// <summary>The post_call decisions in the spend row of <paramref name="requestId"/>, as <c>guardrail:decision</c>.</summary>
    private static string PostCallDecisions(JsonArray logs, string requestId) =>
        string.Join(",", logs.Where(r => r!["request_id"]!.GetValue<string>() == requestId)
            .SelectMany(r => r!["metadata"]!["guardrails"]?.AsArray() ?? [])
            .Where(d => d!["mode"]!.GetValue<string>() == "post_call")
            .Select(d => $"{d!["guardrail"]!.GetValue<string>()}:{d["decision"]!.GetValue<string>()}"));

    private static async Task<JsonArray> SpendLogsAsync(HttpClient http, string key)
    {
        var (status, body) = await GetAsync(http, "spend/logs?api_key=" + key, MasterKey);
        Assert.True(status == HttpStatusCode.OK, $"/spend/logs: {status} {body}");
        return body!.AsArray();
    }
}

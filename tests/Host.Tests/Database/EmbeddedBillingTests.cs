using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.ServiceDefaults.Database;
using Broker.TestKit;
using Microsoft.Data.Sqlite;

namespace Broker.Host.Tests.Database;

/// <summary>Billing's background jobs on the embedded SQLite store (no database_url), as they run on PostgreSQL.</summary>
public sealed class EmbeddedBillingTests
{
    [Fact]
    public async Task Retention_NoDatabaseUrl_ExpiredSpendLogsAttemptsAndDecisionsDeletedRecentKept()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}", "broker.db");
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            general_settings:
              maximum_spend_logs_retention_period: 30d
            """;
        try
        {
            await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: new Dictionary<string, string?>
            {
                ["Database:EmbeddedPath"] = file, ["Billing:RetentionIntervalSeconds"] = "0.2",
            });
            var now = DateTimeOffset.UtcNow;
            await ExecuteAsync(file, """
                INSERT INTO broker_spend_logs (request_id, model_group, deployment_id, provider, prompt_tokens, completion_tokens, total_tokens,
                    cost, start_time, end_time, latency_ms, status)
                VALUES ($old1, 'm', 'd', 'openai', 1, 1, 2, '0.01', $old, $old, 1, 'success'),
                       ($old2, 'm', 'd', 'openai', 1, 1, 2, '0.01', $old, $old, 1, 'success'),
                       ($new1, 'm', 'd', 'openai', 1, 1, 2, '0.01', $recent, $recent, 1, 'success');
                INSERT INTO broker_request_attempts (attempt_id, request_id, attempt, original_model_group, model_group, status_code, started_at, latency_ms)
                VALUES ($old1, $old1, 1, 'm', 'm', 200, $old, 1), ($new1, $new1, 1, 'm', 'm', 200, $recent, 1);
                INSERT INTO broker_spend_guardrails (request_id, guardrails, decided_at)
                VALUES ($old1, '[]', $old), ($new1, '[]', $recent);
                """,
                ("$old1", Guid.NewGuid().ToString()), ("$old2", Guid.NewGuid().ToString()), ("$new1", Guid.NewGuid().ToString()),
                ("$old", SqliteValues.Time(now.AddDays(-40))), ("$recent", SqliteValues.Time(now.AddDays(-1))));

            var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
            while ((await CountAsync(file, "broker_spend_logs"), await CountAsync(file, "broker_request_attempts"), await CountAsync(file, "broker_spend_guardrails")) != (1, 1, 1))
            {
                Assert.True(DateTimeOffset.UtcNow < deadline, "retention never deleted the expired rows from the SQLite file");
                await Task.Delay(200);
            }

            await Task.Delay(500);
            Assert.Equal(1L, await CountAsync(file, "broker_spend_logs"));
            Assert.Equal(1L, await CountAsync(file, "broker_request_attempts"));
            Assert.Equal(1L, await CountAsync(file, "broker_spend_guardrails"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public async Task SpendReportFrequency_NoDatabaseUrl_ReportOfTopKeysAndTeamsFromTheSqliteFile()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}", "broker.db");
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            general_settings:
              alerting: ["webhook"]
              alerting_args:
                spend_report_frequency: 2s
              alert_to_webhook_url:
                spend_reports: "{{webhook.BaseUrl}}/spend"
            """;
        try
        {
            await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: new Dictionary<string, string?>
            {
                ["Database:EmbeddedPath"] = file, ["Alerts:RetryDelayMs"] = "200",
            });
            // amounts as the SQLite store keeps them (decimal text): 10.5 must rank above 9.75, which text order would not do
            await ExecuteAsync(file, """
                INSERT INTO broker_teams (team_id, team_alias, spend, created_at, updated_at) VALUES
                  ('t-1', 'research', '20.25', $now, $now), ('t-2', 'sales', '1.5', $now, $now);
                INSERT INTO broker_keys (token_hash, key_name, key_alias, team_id, spend, created_at, updated_at) VALUES
                  ('h1', 'sk-...0001', 'big-spender', 't-1', '10.5', $now, $now),
                  ('h2', 'sk-...0002', NULL, 't-1', '9.75', $now, $now),
                  ('h3', 'sk-...0003', 'idle', 't-2', '0', $now, $now);
                """, ("$now", SqliteValues.Time(DateTimeOffset.UtcNow)));

            var report = await webhook.WaitForAsync(r => r.Any(x => x.Body.Contains("big-spender", StringComparison.Ordinal)));
            var alert = JsonNode.Parse(report.First(x => x.Body.Contains("big-spender", StringComparison.Ordinal)).Body)!;

            Assert.Equal("spend_reports", alert["alert_type"]!.GetValue<string>());
            Assert.Equal(20.25m, alert["spend"]!.GetValue<decimal>());
            Assert.Equal("big-spender=10.5, sk-...0002=9.75", alert["top_keys"]!.GetValue<string>());
            Assert.Equal("research=20.25, sales=1.5", alert["top_teams"]!.GetValue<string>());
            Assert.Contains("1. big-spender: $10.5", alert["event_message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    private static async Task ExecuteAsync(string file, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Pooling=False;Default Timeout=30");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(string file, string table)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Data.Sqlite;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Database;

/// <summary>The embedded default with no database_url: state in a SQLite file, through the real HTTP path, across a restart.</summary>
public sealed class EmbeddedStoreTests
{
    [Fact]
    public async Task KeysAndSpendLogs_NoDatabaseUrl_KeptInTheSqliteFileAcrossARestart()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}", "broker.db");
        var settings = new Dictionary<string, string?> { ["Database:EmbeddedPath"] = file };
        var yaml = Yaml(upstream.BaseUrl, databaseUrl: null);
        try
        {
            string key;
            await using (var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings))
            {
                key = await GenerateKeyAsync(broker.Http, new { key_alias = "embedded", models = new[] { "gpt-4o" } });
                var (status, body, _) = await ChatAsync(broker.Http, key);
                Assert.True(status == HttpStatusCode.OK, $"chat with the new key: {status} {body}");
                Assert.True(await EventuallyAsync(async () => (await SpendLogsAsync(broker.Http, key)).Count == 1, TimeSpan.FromSeconds(30)),
                    "the request never showed in /spend/logs");
                Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, "sk-not-a-key")).Status);
            }

            Assert.True(File.Exists(file));
            await using (var restarted = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings))
            {
                var logs = await SpendLogsAsync(restarted.Http, key);
                var (status, body, _) = await ChatAsync(restarted.Http, key);
                var (infoStatus, info) = await GetAsync(restarted.Http, "key/info?key=" + key, MasterKey);

                Assert.Single(logs);
                Assert.Equal("gpt-4o", logs[0]!["model_group"]!.GetValue<string>());
                Assert.True(status == HttpStatusCode.OK, $"chat with the key after the restart: {status} {body}");
                Assert.Equal(HttpStatusCode.OK, infoStatus);
                Assert.Equal("embedded", info!["info"]!["key_alias"]!.GetValue<string>());
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public async Task FilesAndBatches_NoDatabaseUrl_SdkFlowCompletesAndSurvivesARestart()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}", "broker.db");
        var settings = new Dictionary<string, string?> { ["Database:EmbeddedPath"] = file, ["Ingress:BatchPollSeconds"] = "0.2" };
        var yaml = Yaml(upstream.BaseUrl, databaseUrl: null);
        var ids = Enumerable.Range(1, 12).Select(i => $"req-{i}").ToList();
        try
        {
            string batchId, outputId;
            await using (var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings))
            {
                var client = new Batches.BatchTestClient(broker, MasterKey);
                var fileId = await client.UploadAsync(string.Join("\n", ids.Select(id => Batches.BatchTestClient.ChatLine(id, "gpt-4o", "say " + id))) + "\n");
                var created = await client.CreateAsync(fileId);
                batchId = created["id"]!.GetValue<string>();
                var batch = await client.WaitAsync(batchId, TimeSpan.FromSeconds(60));

                Assert.Equal("completed", batch["status"]!.GetValue<string>());
                Assert.Equal(12, batch["request_counts"]!["completed"]!.GetValue<int>());
                outputId = batch["output_file_id"]!.GetValue<string>();
                var output = await client.DownloadLinesAsync(outputId);
                Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
                Assert.All(output, line => Assert.Equal(200, line["response"]!["status_code"]!.GetValue<int>()));
                Assert.Equal(ids.Select(id => "say " + id).Order().ToList(),
                    upstream.Requests.Select(r => r.Body["messages"]![0]!["content"]!.GetValue<string>()).Order().ToList());
            }

            await using (var restarted = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings))
            {
                var client = new Batches.BatchTestClient(restarted, MasterKey);
                var batch = await client.GetAsync(batchId);
                var output = await client.DownloadLinesAsync(outputId);

                Assert.Equal("completed", batch["status"]!.GetValue<string>());
                Assert.Equal(12, batch["request_counts"]!["total"]!.GetValue<int>());
                Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
                Assert.Equal(12, upstream.Requests.Count);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public async Task Start_RolesApartOnASqliteUrl_RefusedWithAClearError()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BrokerRunner.StartAsync(
            Yaml(upstream.BaseUrl, "sqlite:///tmp/never-created.db"), null, new Uri("amqp://guest:guest@127.0.0.1:1/"),
            [(BrokerRoles.Ingress, [])]));

        Assert.Contains("one process", error.Message, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/never-created.db"));
    }

    private static async Task<JsonArray> SpendLogsAsync(HttpClient http, string key)
    {
        var (status, body) = await GetAsync(http, "spend/logs?api_key=" + key, MasterKey);
        Assert.True(status == HttpStatusCode.OK, $"/spend/logs: {status} {body}");
        return body!.AsArray();
    }
}

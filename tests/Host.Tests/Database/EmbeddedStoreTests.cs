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
    /// <summary>
    /// The "done means", one flow: with no database configured, /key/generate and the new key work, the OpenAI SDK's
    /// files + batches flow completes with that key, /spend/logs and /global/spend/report show the requests, start-up logs
    /// the store, and after a restart on the same file all of it is still there.
    /// </summary>
    [Fact]
    public async Task KeysFilesBatchesAndSpend_NoDatabaseUrl_SdkFlowWorksAndAllOfItSurvivesARestart()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var file = Path.Combine(Path.GetTempPath(), $"broker-test-{Guid.NewGuid():N}", "broker.db");
        var logs = LogCapture.Create();
        var settings = new Dictionary<string, string?>(logs.Settings) { ["Database:EmbeddedPath"] = file, ["Ingress:BatchPollSeconds"] = "0.2" };
        var yaml = Yaml(upstream.BaseUrl, databaseUrl: null);
        var ids = Enumerable.Range(1, 6).Select(i => $"req-{i}").ToList();
        try
        {
            string key, batchId, inputId, outputId;
            await using (var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings))
            {
                Assert.Contains($"State store: SQLite file {file}", logs.All, StringComparison.Ordinal);
                key = await GenerateKeyAsync(broker.Http, new { key_alias = "embedded", models = new[] { "gpt-4o" } });
                var (status, body, _) = await ChatAsync(broker.Http, key);
                Assert.True(status == HttpStatusCode.OK, $"chat with the new key: {status} {body}");
                Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, "sk-not-a-key")).Status);

                // the official SDK, authenticated with the new key
                var client = new Batches.BatchTestClient(broker, key);
                inputId = await client.UploadAsync(string.Join("\n", ids.Select(id => Batches.BatchTestClient.ChatLine(id, "gpt-4o", "say " + id))) + "\n");
                batchId = (await client.CreateAsync(inputId))["id"]!.GetValue<string>();
                var batch = await client.WaitAsync(batchId, TimeSpan.FromSeconds(60));
                Assert.Equal("completed", batch["status"]!.GetValue<string>());
                Assert.Equal(ids.Count, batch["request_counts"]!["completed"]!.GetValue<int>());
                outputId = batch["output_file_id"]!.GetValue<string>();
                var output = await client.DownloadLinesAsync(outputId);
                Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
                Assert.All(output, line => Assert.Equal(200, line["response"]!["status_code"]!.GetValue<int>()));

                // the chat and every batch line are billed to the key
                Assert.True(await EventuallyAsync(async () => (await SpendLogsAsync(broker.Http, key)).Count == 1 + ids.Count, TimeSpan.FromSeconds(30)),
                    "the requests never all showed in /spend/logs");
                var (reportStatus, report) = await GetAsync(broker.Http, "global/spend/report?group_by=api_key", MasterKey);
                Assert.True(reportStatus == HttpStatusCode.OK, $"/global/spend/report: {reportStatus} {report}");
                Assert.Equal(1 + ids.Count, report!.AsArray().Sum(d => d!["request_count"]!.GetValue<long>()));
            }

            Assert.True(File.Exists(file));
            await using (var restarted = await BrokerRunner.StartEmbeddedAsync(yaml, settings: settings))
            {
                var spend = await SpendLogsAsync(restarted.Http, key);
                var (status, body, _) = await ChatAsync(restarted.Http, key);
                var (infoStatus, info) = await GetAsync(restarted.Http, "key/info?key=" + key, MasterKey);
                var client = new Batches.BatchTestClient(restarted, key);
                var batch = await client.GetAsync(batchId);
                var input = await client.DownloadLinesAsync(inputId);
                var output = await client.DownloadLinesAsync(outputId);

                Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(logs.All, "State store: SQLite file "));
                Assert.Equal(1 + ids.Count, spend.Count);
                Assert.All(spend, row => Assert.Equal("gpt-4o", row!["model_group"]!.GetValue<string>()));
                Assert.True(status == HttpStatusCode.OK, $"chat with the key after the restart: {status} {body}");
                Assert.Equal(HttpStatusCode.OK, infoStatus);
                Assert.Equal("embedded", info!["info"]!["key_alias"]!.GetValue<string>());
                Assert.Equal("completed", batch["status"]!.GetValue<string>());
                Assert.Equal(ids.Count, batch["request_counts"]!["total"]!.GetValue<int>());
                Assert.Equal(ids, input.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
                Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
                // nothing ran again: one chat before the restart, one after, one per batch line
                Assert.Equal(2 + ids.Count, upstream.Requests.Count);
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

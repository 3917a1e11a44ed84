using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Batches;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Security;

/// <summary>
/// Batch lines are held to the models of the key that submitted the batch: at validation (the batch fails, naming
/// the line), at creation for message batches, and again when each line runs.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BatchScopingTests : IAsyncLifetime
{
    private const string MasterKey = "sk-scope-master";
    private TestDatabase _db = null!;
    private FakeUpstream _good = null!;
    private FakeUpstream _other = null!;
    private BrokerRunner _broker = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _good = await FakeUpstream.StartOpenAiAsync();
        _other = await FakeUpstream.StartOpenAiAsync();
        _broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: good
                litellm_params: { model: openai/gpt-4o, api_base: "{{_good.BaseUrl}}/v1", api_key: k, max_parallel_requests: 8 }
              - model_name: other
                litellm_params: { model: openai/gpt-4o, api_base: "{{_other.BaseUrl}}/v1", api_key: k }
            router_settings:
              timeout: 30
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{_db.Url}}"
            """, settings: new Dictionary<string, string?> { ["Ingress:BatchPollSeconds"] = "0.2" });
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _good.DisposeAsync();
        await _other.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Batch_LineWithModelOutsideTheKey_FailsValidationNamingTheLine()
    {
        var key = await GenerateKeyAsync(new JsonObject { ["models"] = new JsonArray("good") });
        var client = new BatchTestClient(_broker, key);
        var fileId = await client.UploadAsync(string.Join("\n",
            BatchTestClient.ChatLine("a", "good"), BatchTestClient.ChatLine("b", "other"), BatchTestClient.ChatLine("c", "good")));

        var created = await client.CreateAsync(fileId);
        var batch = await client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

        Assert.Equal("failed", batch["status"]!.GetValue<string>());
        var error = Assert.Single(batch["errors"]!["data"]!.AsArray())!;
        Assert.Equal(2, error["line"]!.GetValue<int>());
        Assert.Equal("key_model_access_denied", error["code"]!.GetValue<string>());
        Assert.Equal("body.model", error["param"]!.GetValue<string>());
        Assert.Contains("other", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_other.Requests);
        Assert.Empty(_good.Requests);
    }

    [Fact]
    public async Task Batch_KeyModelsNarrowedWhileRunning_LaterLinesFailWith401()
    {
        _good.Delay = TimeSpan.FromMilliseconds(300);
        var key = await GenerateKeyAsync(new JsonObject { ["models"] = new JsonArray("good") });
        var client = new BatchTestClient(_broker, key);
        var ids = Enumerable.Range(1, 40).Select(i => $"n-{i}").ToList();
        var batchId = (await client.CreateAsync(await client.UploadAsync(string.Join("\n", ids.Select(id => BatchTestClient.ChatLine(id, "good"))))))["id"]!.GetValue<string>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (_good.Requests.Count < 4)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the batch did not start");
            await Task.Delay(20);
        }

        // the admin takes 'good' away from the key: lines not yet sent are refused from now on
        await PostAsync("key/update", new JsonObject { ["key"] = key, ["models"] = new JsonArray("other") });
        var batch = await client.WaitAsync(batchId, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", batch["status"]!.GetValue<string>());
        var completed = batch["request_counts"]!["completed"]!.GetValue<int>();
        var failed = batch["request_counts"]!["failed"]!.GetValue<int>();
        Assert.Equal(40, completed + failed);
        Assert.True(failed > 0, $"completed {completed}, failed {failed}");
        Assert.Equal(completed, _good.Requests.Count);
        var errors = await client.DownloadLinesAsync(batch["error_file_id"]!.GetValue<string>());
        Assert.Equal(failed, errors.Count);
        Assert.All(errors, line =>
        {
            Assert.Equal(401, line["response"]!["status_code"]!.GetValue<int>());
            Assert.Equal("key_model_access_denied", line["response"]!["body"]!["error"]!["type"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task MessageBatch_RequestOutsideTheKey_RefusedAtCreationNamingIt()
    {
        var key = await GenerateKeyAsync(new JsonObject { ["models"] = new JsonArray("good") });
        JsonObject Request(string id, string model) => new()
        {
            ["custom_id"] = id,
            ["params"] = new JsonObject
            {
                ["model"] = model,
                ["max_tokens"] = 10,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "x" }),
            },
        };
        using var http = new HttpClient { BaseAddress = new Uri(_broker.BaseUrl) };
        http.DefaultRequestHeaders.Add("x-api-key", key);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var body = new JsonObject { ["requests"] = new JsonArray(Request("ok", "good"), Request("outside", "other")) };

        using var response = await http.PostAsync("/v1/messages/batches", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", answer["type"]!.GetValue<string>());
        Assert.StartsWith("requests.1.params.model:", answer["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM broker_batches"));
    }

    private async Task<string> GenerateKeyAsync(JsonObject body) => (await PostAsync("key/generate", body))["key"]!.GetValue<string>();

    private async Task<JsonNode> PostAsync(string path, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await _broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }
}

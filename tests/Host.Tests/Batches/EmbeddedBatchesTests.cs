using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Billing;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Batches;

/// <summary>Files and batches end to end with every role in one process, the real PostgreSQL and a fake provider.</summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedBatchesTests : IAsyncLifetime
{
    private const string MasterKey = "sk-batch-master";
    private TestDatabase _db = null!;
    private FakeUpstream _good = null!;
    private FakeUpstream _bad = null!;
    private FakeUpstream _anthropic = null!;
    private BrokerRunner _broker = null!;
    private BatchTestClient _client = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _good = await FakeUpstream.StartOpenAiAsync();
        _bad = await FakeUpstream.StartOpenAiAsync();
        _anthropic = await FakeUpstream.StartAnthropicAsync();
        _bad.Failure = (400, """{"error":{"message":"this prompt is refused","type":"invalid_request_error","param":null,"code":"refused"}}""", null);
        _broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: good
                litellm_params: { model: openai/gpt-4o, api_base: "{{_good.BaseUrl}}/v1", api_key: k, max_parallel_requests: 8 }
              - model_name: bad
                litellm_params: { model: openai/gpt-4o, api_base: "{{_bad.BaseUrl}}/v1", api_key: k }
              - model_name: claude
                litellm_params: { model: anthropic/claude-3-5-sonnet-20240620, api_base: "{{_anthropic.BaseUrl}}", api_key: k }
              - model_name: embed
                litellm_params: { model: openai/text-embedding-3-small, api_base: "{{_good.BaseUrl}}/v1", api_key: k }
            router_settings:
              timeout: 30
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{_db.Url}}"
            """, settings: new Dictionary<string, string?> { ["Ingress:BatchPollSeconds"] = "0.2" });
        _client = new BatchTestClient(_broker, MasterKey);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _good.DisposeAsync();
        await _bad.DisposeAsync();
        await _anthropic.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Batch_SdkUploadsAndPolls_CompletesWithEveryCustomIdOnce()
    {
        var ids = Enumerable.Range(1, 40).Select(i => $"req-{i}").ToList();
        var fileId = await _client.UploadAsync(string.Join("\n", ids.Select(id => BatchTestClient.ChatLine(id, "good", "say " + id))) + "\n");

        var created = await _client.CreateAsync(fileId);
        Assert.Equal("batch", created["object"]!.GetValue<string>());
        Assert.Equal("validating", created["status"]!.GetValue<string>());
        Assert.Equal("test", created["metadata"]!["purpose"]!.GetValue<string>());
        var batch = await _client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

        Assert.Equal("completed", batch["status"]!.GetValue<string>());
        Assert.Equal(40, batch["request_counts"]!["total"]!.GetValue<int>());
        Assert.Equal(40, batch["request_counts"]!["completed"]!.GetValue<int>());
        Assert.Equal(0, batch["request_counts"]!["failed"]!.GetValue<int>());
        foreach (var stamp in new[] { "created_at", "in_progress_at", "finalizing_at", "completed_at", "expires_at" })
        {
            Assert.True(batch[stamp]!.GetValue<long>() > 0, stamp);
        }

        Assert.Null(batch["error_file_id"]);
        var output = await _client.DownloadLinesAsync(batch["output_file_id"]!.GetValue<string>());
        Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
        Assert.All(output, line =>
        {
            Assert.Equal(200, line["response"]!["status_code"]!.GetValue<int>());
            Assert.Equal("chat.completion", line["response"]!["body"]!["object"]!.GetValue<string>());
            Assert.StartsWith("batch_req_", line["id"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Null(line["error"]);
        });
        // each line ran once at the provider, with its own prompt
        var prompts = _good.Requests.Select(r => r.Body["messages"]![0]!["content"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(ids.Select(id => "say " + id).Order().ToList(), prompts);
        // the batch's share of the group's concurrency (8 * 0.5) is never exceeded
        Assert.True(_good.MaxInFlight <= 4, $"max in flight {_good.MaxInFlight}");
        // every line billed once to the batch's key, at gpt-4o's prices (13 prompt and 5 completion tokens each): the lines
        // are live calls to the provider, not its Batch API
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (await _db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") < 40 && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        Assert.Equal(40L, await _db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
        Assert.Equal(40 * ((13 * 0.0000025m) + (5 * 0.00001m)), await _db.ScalarAsync<decimal>("SELECT sum(cost) FROM broker_spend_logs"));
    }

    [Fact]
    public async Task Batch_KeysBudgetSpentMidBatch_RemainingLinesRefusedWithBudgetError()
    {
        _good.Delay = TimeSpan.FromMilliseconds(300);
        var key = await GenerateKeyAsync(new JsonObject { ["max_budget"] = 1 });
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        var client = new BatchTestClient(_broker, key);
        var ids = Enumerable.Range(1, 40).Select(i => $"b-{i}").ToList();
        var batchId = (await client.CreateAsync(await client.UploadAsync(string.Join("\n", ids.Select(id => BatchTestClient.ChatLine(id, "good"))))))["id"]!.GetValue<string>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (_good.Requests.Count < 8)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the batch did not start");
            await Task.Delay(20);
        }

        // Billing reports the key over its budget (spent by anything): lines not yet sent are refused from now on
        await _broker.Hosts[0].Services.GetRequiredService<IBus>().Publish(new SpendTotalsChanged
        {
            Totals = [new EntitySpend { EntityType = "key", EntityId = hash, Spend = 1.5m }],
        });
        var batch = await client.WaitAsync(batchId, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", batch["status"]!.GetValue<string>());
        var completed = batch["request_counts"]!["completed"]!.GetValue<int>();
        var failed = batch["request_counts"]!["failed"]!.GetValue<int>();
        Assert.Equal(40, completed + failed);
        Assert.InRange(completed, 8, 30);
        Assert.Equal(completed, _good.Requests.Count);
        var errors = await client.DownloadLinesAsync(batch["error_file_id"]!.GetValue<string>());
        Assert.Equal(failed, errors.Count);
        Assert.All(errors, line =>
        {
            Assert.Equal(400, line["response"]!["status_code"]!.GetValue<int>());
            Assert.Equal("budget_exceeded", line["response"]!["body"]!["error"]!["type"]!.GetValue<string>());
            Assert.StartsWith("ExceededTokenBudget", line["response"]!["body"]!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        });
    }

    private async Task<string> GenerateKeyAsync(JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "key/generate") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await _broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["key"]!.GetValue<string>();
    }

    [Fact]
    public async Task Batch_Embeddings_OutputHasEmbeddingsPerCustomId()
    {
        var lines = Enumerable.Range(1, 5).Select(i => new JsonObject
        {
            ["custom_id"] = $"e{i}",
            ["method"] = "POST",
            ["url"] = "/v1/embeddings",
            ["body"] = new JsonObject { ["model"] = "embed", ["input"] = $"text {i}", ["encoding_format"] = "float" },
        }.ToJsonString());
        var fileId = await _client.UploadAsync(string.Join("\n", lines));

        var created = await _client.CreateAsync(fileId, "/v1/embeddings");
        var batch = await _client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

        Assert.Equal("completed", batch["status"]!.GetValue<string>());
        var output = await _client.DownloadLinesAsync(batch["output_file_id"]!.GetValue<string>());
        Assert.Equal(["e1", "e2", "e3", "e4", "e5"], output.Select(l => l["custom_id"]!.GetValue<string>()).ToArray());
        Assert.All(output, l => Assert.Equal("list", l["response"]!["body"]!["object"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Batch_SomeLinesFailAtProvider_ErrorFileHoldsThemAndOutputTheRest()
    {
        var jsonl = string.Join("\n",
            BatchTestClient.ChatLine("ok-1", "good"),
            BatchTestClient.ChatLine("no-1", "bad"),
            BatchTestClient.ChatLine("ok-2", "good"),
            BatchTestClient.ChatLine("no-2", "bad"));
        var fileId = await _client.UploadAsync(jsonl);

        var created = await _client.CreateAsync(fileId);
        var batch = await _client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

        Assert.Equal("completed", batch["status"]!.GetValue<string>());
        Assert.Equal(2, batch["request_counts"]!["completed"]!.GetValue<int>());
        Assert.Equal(2, batch["request_counts"]!["failed"]!.GetValue<int>());
        var output = await _client.DownloadLinesAsync(batch["output_file_id"]!.GetValue<string>());
        Assert.Equal(["ok-1", "ok-2"], output.Select(l => l["custom_id"]!.GetValue<string>()).ToArray());
        var errors = await _client.DownloadLinesAsync(batch["error_file_id"]!.GetValue<string>());
        Assert.Equal(["no-1", "no-2"], errors.Select(l => l["custom_id"]!.GetValue<string>()).ToArray());
        Assert.All(errors, l =>
        {
            Assert.Equal(400, l["response"]!["status_code"]!.GetValue<int>());
            Assert.Contains("refused", l["response"]!["body"]!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Batch_BadFile_FailsWithLineNumberedErrors()
    {
        var jsonl = string.Join("\n",
            BatchTestClient.ChatLine("a", "good"),
            "{not json",
            BatchTestClient.ChatLine("a", "good"),
            BatchTestClient.ChatLine("c", "good").Replace("/v1/chat/completions", "/v1/embeddings", StringComparison.Ordinal),
            BatchTestClient.ChatLine("d", "no-such-model"),
            BatchTestClient.ChatLine("e", "good"));
        var fileId = await _client.UploadAsync(jsonl);

        var created = await _client.CreateAsync(fileId);
        var batch = await _client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

        Assert.Equal("failed", batch["status"]!.GetValue<string>());
        Assert.True(batch["failed_at"]!.GetValue<long>() > 0);
        var errors = batch["errors"]!["data"]!.AsArray().Select(e => (e!["line"]!.GetValue<int>(), e["code"]!.GetValue<string>())).ToList();
        Assert.Equal([(2, "invalid_json_line"), (3, "duplicate_custom_id"), (4, "mismatched_endpoint"), (5, "model_not_found")], errors);
        Assert.Empty(_good.Requests);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines"));
    }

    [Fact]
    public async Task Batch_UnreadableLinesThenGoodBatch_BadFailsWithLineErrorsGoodCompletes()
    {
        const string body = "\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"good\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        var jsonl = string.Join("\n",
            BatchTestClient.ChatLine("a", "good"),
            "{\"custom_id\":\"dup\",\"custom_id\":\"dup-2\"," + body + "}",
            "{\"custom_id\":\"lone\\ud800\"," + body + "}",
            "{\"custom_id\":\"nul\\u0000\"," + body + "}",
            "{\"custom_id\":\"content\"," + body.Replace("\"hi\"", "\"hi \\udc00 there\"", StringComparison.Ordinal) + "}",
            BatchTestClient.ChatLine("e", "good"));
        var bad = await _client.CreateAsync(await _client.UploadAsync(jsonl));
        var good = await _client.CreateAsync(await _client.UploadAsync(BatchTestClient.ChatLine("g", "good") + "\n"));

        // the good batch, created after the bad one, is not held back by it
        var goodBatch = await _client.WaitAsync(good["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));
        var badBatch = await _client.WaitAsync(bad["id"]!.GetValue<string>(), TimeSpan.FromSeconds(30));

        Assert.Equal("completed", goodBatch["status"]!.GetValue<string>());
        Assert.Equal(1, goodBatch["request_counts"]!["completed"]!.GetValue<int>());
        Assert.Equal("failed", badBatch["status"]!.GetValue<string>());
        var errors = badBatch["errors"]!["data"]!.AsArray().Select(e => (e!["line"]!.GetValue<int>(), e["code"]!.GetValue<string>())).ToList();
        Assert.Equal([2, 3, 4, 5], errors.Select(e => e.Item1));
        Assert.Equal("invalid_json_line", errors[0].Item2);
        Assert.Equal("invalid_json_line", errors[3].Item2); // a lone surrogate inside the request's content
        Assert.All(errors, e => Assert.Contains(e.Item2, new[] { "invalid_json_line", "invalid_value" }));
    }

    [Fact]
    public async Task Batch_Cancelled_StopsNewLinesLetsInFlightFinish()
    {
        _good.Delay = TimeSpan.FromMilliseconds(500);
        var fileId = await _client.UploadAsync(string.Join("\n", Enumerable.Range(1, 60).Select(i => BatchTestClient.ChatLine($"c{i}", "good"))));
        var created = await _client.CreateAsync(fileId);
        var id = created["id"]!.GetValue<string>();
        await _client.WaitAsync(id, TimeSpan.FromSeconds(60), "in_progress");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (_good.Requests.Count < 4)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "no line started");
            await Task.Delay(20);
        }

        var cancelling = await _client.CancelAsync(id);
        Assert.Contains(cancelling["status"]!.GetValue<string>(), new[] { "cancelling", "cancelled" });
        var batch = await _client.WaitAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal("cancelled", batch["status"]!.GetValue<string>());
        Assert.True(batch["cancelling_at"]!.GetValue<long>() > 0);
        Assert.True(batch["cancelled_at"]!.GetValue<long>() > 0);
        var completed = batch["request_counts"]!["completed"]!.GetValue<int>();
        Assert.InRange(completed, 4, 59);
        // every line that reached the provider finished and is in the output; no line started after the cancel settled
        var output = await _client.DownloadLinesAsync(batch["output_file_id"]!.GetValue<string>());
        Assert.Equal(completed, output.Count);
        Assert.Equal(_good.Requests.Count, completed);
        var errors = await _client.DownloadLinesAsync(batch["error_file_id"]!.GetValue<string>());
        Assert.Equal(60 - completed, errors.Count);
        Assert.All(errors, e => Assert.Equal("batch_cancelled", e["error"]!["code"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Batch_PastCompletionWindow_RemainingLinesExpired()
    {
        _good.Delay = TimeSpan.FromMilliseconds(400);
        var fileId = await _client.UploadAsync(string.Join("\n", Enumerable.Range(1, 40).Select(i => BatchTestClient.ChatLine($"x{i}", "good"))));

        var created = await _client.CreateAsync(fileId, window: "2s");
        var batch = await _client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

        Assert.Equal("expired", batch["status"]!.GetValue<string>());
        Assert.True(batch["expired_at"]!.GetValue<long>() > 0);
        var completed = batch["request_counts"]!["completed"]!.GetValue<int>();
        Assert.InRange(completed, 1, 39);
        Assert.Equal(40 - completed, batch["request_counts"]!["failed"]!.GetValue<int>());
        var errors = await _client.DownloadLinesAsync(batch["error_file_id"]!.GetValue<string>());
        Assert.All(errors, e => Assert.Equal("batch_expired", e["error"]!["code"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Files_UploadListGetContentDelete_OpenAiShapes()
    {
        var content = "{\"a\":1}\n{\"b\":2}\n";
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
        };
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(content));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", "mine.jsonl");

        var (status, uploaded) = await _client.RawAsync(HttpMethod.Post, "/v1/files", form);
        Assert.Equal(200, status);
        var id = uploaded["id"]!.GetValue<string>();
        Assert.StartsWith("file-", id, StringComparison.Ordinal);
        Assert.Equal("file", uploaded["object"]!.GetValue<string>());
        Assert.Equal(content.Length, uploaded["bytes"]!.GetValue<long>());
        Assert.Equal("mine.jsonl", uploaded["filename"]!.GetValue<string>());
        Assert.Equal("batch", uploaded["purpose"]!.GetValue<string>());

        var (_, list) = await _client.RawAsync(HttpMethod.Get, "/v1/files?purpose=batch");
        Assert.Equal("list", list["object"]!.GetValue<string>());
        Assert.Contains(list["data"]!.AsArray(), f => f!["id"]!.GetValue<string>() == id);
        Assert.False(list["has_more"]!.GetValue<bool>());

        var downloaded = await _client.Sdk.GetOpenAIFileClient().DownloadFileAsync(id);
        Assert.Equal(content, downloaded.Value.ToString());

        var (deleteStatus, deleted) = await _client.RawAsync(HttpMethod.Delete, $"/v1/files/{id}");
        Assert.Equal(200, deleteStatus);
        Assert.True(deleted["deleted"]!.GetValue<bool>());
        var (getStatus, missing) = await _client.RawAsync(HttpMethod.Get, $"/v1/files/{id}");
        Assert.Equal(404, getStatus);
        Assert.Equal("invalid_request_error", missing["error"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Files_LargeUpload_StoredInChunksAndReadBackIdentical()
    {
        // 3.5 MB: several 1 MiB chunks, the last one partial
        var line = BatchTestClient.ChatLine("big", "good", new string('x', 1000));
        var jsonl = string.Join("\n", Enumerable.Range(0, 3500).Select(i => line.Replace("\"big\"", $"\"big-{i}\"", StringComparison.Ordinal)));
        var fileId = await _client.UploadAsync(jsonl);

        Assert.Equal(4L, await _db.ScalarAsync<long>($"SELECT count(*) FROM broker_file_chunks WHERE file_id = '{fileId}'"));
        var downloaded = await _client.Sdk.GetOpenAIFileClient().DownloadFileAsync(fileId);
        Assert.Equal(jsonl, downloaded.Value.ToString());
    }

    [Fact]
    public async Task Batches_List_PagesNewestFirstWithHasMore()
    {
        var fileId = await _client.UploadAsync(BatchTestClient.ChatLine("one", "good"));
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await _client.CreateAsync(fileId))["id"]!.GetValue<string>());
        }

        var (_, first) = await _client.RawAsync(HttpMethod.Get, "/v1/batches?limit=2");
        Assert.Equal([ids[2], ids[1]], first["data"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToArray());
        Assert.True(first["has_more"]!.GetValue<bool>());
        Assert.Equal(ids[1], first["last_id"]!.GetValue<string>());
        var (_, second) = await _client.RawAsync(HttpMethod.Get, $"/v1/batches?limit=2&after={ids[1]}");
        Assert.Equal([ids[0]], second["data"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToArray());
        Assert.False(second["has_more"]!.GetValue<bool>());
    }

    [Fact]
    public async Task CreateBatch_UnknownFileOrEndpoint_OpenAiErrors()
    {
        var (status, body) = await _client.RawAsync(HttpMethod.Post, "/v1/batches", BatchTestClient.JsonContent(new JsonObject
        {
            ["input_file_id"] = "file-nope", ["endpoint"] = "/v1/chat/completions", ["completion_window"] = "24h",
        }));
        Assert.Equal(404, status);
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());

        var fileId = await _client.UploadAsync(BatchTestClient.ChatLine("one", "good"));
        (status, body) = await _client.RawAsync(HttpMethod.Post, "/v1/batches", BatchTestClient.JsonContent(new JsonObject
        {
            ["input_file_id"] = fileId, ["endpoint"] = "/v1/images", ["completion_window"] = "24h",
        }));
        Assert.Equal(400, status);
        Assert.Equal("endpoint", body["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task MessageBatch_AnthropicShapes_ResultsPerCustomId()
    {
        JsonObject Request(string id, string model) => new()
        {
            ["custom_id"] = id,
            ["params"] = new JsonObject
            {
                ["model"] = model,
                ["max_tokens"] = 100,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello " + id }),
            },
        };
        var body = new JsonObject
        {
            ["requests"] = new JsonArray(Request("native", "claude"), Request("translated", "good"), Request("refused", "bad")),
        };
        using var http = new HttpClient { BaseAddress = new Uri(_broker.BaseUrl) };
        http.DefaultRequestHeaders.Add("x-api-key", MasterKey);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");

        using var createdResponse = await http.PostAsync("/v1/messages/batches", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var created = JsonNode.Parse(await createdResponse.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(System.Net.HttpStatusCode.OK, createdResponse.StatusCode);
        Assert.Equal("message_batch", created["type"]!.GetValue<string>());
        Assert.Equal("in_progress", created["processing_status"]!.GetValue<string>());
        Assert.Equal(3, created["request_counts"]!["processing"]!.GetValue<int>());
        var id = created["id"]!.GetValue<string>();
        Assert.StartsWith("msgbatch_", id, StringComparison.Ordinal);

        JsonObject batch;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "message batch did not end");
            await Task.Delay(200);
            batch = JsonNode.Parse(await http.GetStringAsync($"/v1/messages/batches/{id}"))!.AsObject();
        }
        while (batch["processing_status"]!.GetValue<string>() != "ended");

        Assert.Equal(2, batch["request_counts"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(1, batch["request_counts"]!["errored"]!.GetValue<int>());
        Assert.NotNull(batch["ended_at"]);
        var resultsUrl = batch["results_url"]!.GetValue<string>();
        var results = (await http.GetStringAsync(resultsUrl)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(l => l["custom_id"]!.GetValue<string>());

        Assert.Equal(["native", "refused", "translated"], results.Keys.Order().ToArray());
        // passed through to the Anthropic deployment unchanged, answered in Anthropic's shape either way
        Assert.Equal("succeeded", results["native"]["result"]!["type"]!.GetValue<string>());
        Assert.Equal("message", results["native"]["result"]!["message"]!["type"]!.GetValue<string>());
        Assert.Equal("claude", results["native"]["result"]!["message"]!["model"]!.GetValue<string>());
        Assert.Equal("Hello native", _anthropic.Requests.Single().Body["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal("succeeded", results["translated"]["result"]!["type"]!.GetValue<string>());
        Assert.Equal("Hello from the fake provider", results["translated"]["result"]!["message"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("errored", results["refused"]["result"]!["type"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", results["refused"]["result"]!["error"]!["error"]!["type"]!.GetValue<string>());

        // the message batch list shows message batches only (the OpenAI batches of other tests are not in this database)
        var list = JsonNode.Parse(await http.GetStringAsync("/v1/messages/batches"))!.AsObject();
        Assert.Equal([id], list["data"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToArray());
    }

    [Fact]
    public async Task MessageBatch_DuplicateCustomId_Rejected()
    {
        var request = new JsonObject
        {
            ["custom_id"] = "same",
            ["params"] = new JsonObject
            {
                ["model"] = "claude", ["max_tokens"] = 10,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "x" }),
            },
        };
        using var http = new HttpClient { BaseAddress = new Uri(_broker.BaseUrl) };
        http.DefaultRequestHeaders.Add("x-api-key", MasterKey);

        using var response = await http.PostAsync("/v1/messages/batches", new StringContent(
            new JsonObject { ["requests"] = new JsonArray(request.DeepClone(), request.DeepClone()) }.ToJsonString(), Encoding.UTF8, "application/json"));
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", error["type"]!.GetValue<string>());
        Assert.Contains("requests.1.custom_id", error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

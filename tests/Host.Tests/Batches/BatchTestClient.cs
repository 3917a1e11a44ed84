using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using OpenAI;
using OpenAI.Files;

namespace Broker.Host.Tests.Batches;

#pragma warning disable OPENAI001 // the Batch client is marked experimental in the SDK

/// <summary>The OpenAI SDK's file and batch clients pointed at a running broker, plus raw helpers for what the SDK leaves as JSON.</summary>
public sealed class BatchTestClient(BrokerRunner broker, string key, string? baseUrl = null)
{
    private readonly string _baseUrl = baseUrl ?? broker.BaseUrl;

    public OpenAIClient Sdk { get; } = new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri((baseUrl ?? broker.BaseUrl) + "/v1"),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = TimeSpan.FromSeconds(120),
    });

    public static string ChatLine(string customId, string model, string text = "hi") => new JsonObject
    {
        ["custom_id"] = customId,
        ["method"] = "POST",
        ["url"] = "/v1/chat/completions",
        ["body"] = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
        },
    }.ToJsonString();

    public async Task<string> UploadAsync(string jsonl, string name = "input.jsonl")
    {
        var file = await Sdk.GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(jsonl), name, FileUploadPurpose.Batch);
        return file.Value.Id;
    }

    public async Task<JsonObject> CreateAsync(string fileId, string endpoint = "/v1/chat/completions", string window = "24h")
    {
        var content = BinaryContent.Create(BinaryData.FromString(new JsonObject
        {
            ["input_file_id"] = fileId,
            ["endpoint"] = endpoint,
            ["completion_window"] = window,
            ["metadata"] = new JsonObject { ["purpose"] = "test" },
        }.ToJsonString()));
        var operation = await Sdk.GetBatchClient().CreateBatchAsync(content, waitUntilCompleted: false);
        // the answer to the create call itself (validation runs afterwards)
        return JsonNode.Parse(operation.GetRawResponse().Content.ToString())!.AsObject();
    }

    public async Task<JsonObject> GetAsync(string batchId)
    {
        var operation = await OpenAI.Batch.CreateBatchOperation.RehydrateAsync(Sdk.GetBatchClient(), batchId);
        return Json(await operation.GetBatchAsync(new RequestOptions()));
    }

    public async Task<JsonObject> CancelAsync(string batchId)
    {
        var operation = await OpenAI.Batch.CreateBatchOperation.RehydrateAsync(Sdk.GetBatchClient(), batchId);
        return Json(await operation.CancelAsync(new RequestOptions()));
    }

    /// <summary>Polls until the batch reaches a final status (or <paramref name="status"/>), failing after the deadline.</summary>
    public async Task<JsonObject> WaitAsync(string batchId, TimeSpan deadline, params string[] status)
    {
        var final = status.Length > 0 ? status : ["completed", "failed", "expired", "cancelled"];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var batch = await GetAsync(batchId);
            if (final.Contains(batch["status"]!.GetValue<string>()))
            {
                return batch;
            }

            Assert.True(watch.Elapsed < deadline, $"batch {batchId} still {batch["status"]} after {deadline}: {batch.ToJsonString()}");
            await Task.Delay(200);
        }
    }

    public async Task<List<JsonObject>> DownloadLinesAsync(string fileId)
    {
        var data = await Sdk.GetOpenAIFileClient().DownloadFileAsync(fileId);
        return data.Value.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }

    public async Task<(int Status, JsonObject Body)> RawAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(new Uri(_baseUrl), path)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text)!.AsObject());
    }

    public static HttpContent JsonContent(JsonObject body) => new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static JsonObject Json(ClientResult result) => JsonNode.Parse(result.GetRawResponse().Content.ToString())!.AsObject();
}

using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Billing;

/// <summary>
/// A request answered by a retry or fallback is billed once, as the success it was; a request whose every step failed
/// gets one failure row. (Workers used to record a failure for the attempt they handed over, and Billing kept the first
/// event per request, so a retried success was never charged.)
/// </summary>
public sealed class RetrySpendTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Spend_FirstAttemptFailsRetrySucceeds_OneSuccessRowWithItsCost(bool stream)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        upstream.OnlyFirstRequests = 1;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, databaseUrl: null, extraTop: "router_settings:\n  num_retries: 1"));

        var body = new JsonObject
        {
            ["model"] = "gpt-4o",
            ["stream"] = stream,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains(stream ? "data: [DONE]" : "chat.completion", text, StringComparison.Ordinal);
        var callId = response.Headers.GetValues("x-litellm-call-id").Single();

        var row = await SpendRowAsync(broker.Http, callId);
        Assert.Equal("success", row["status"]!.GetValue<string>());
        Assert.True(row["spend"]!.GetValue<decimal>() > 0, $"a success is charged: {row}");
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task Spend_EveryAttemptFails_OneFailureRow()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, databaseUrl: null, extraTop: "router_settings:\n  num_retries: 1"));

        var (status, _, _) = await ChatAsync(broker.Http, MasterKey);
        Assert.Equal(HttpStatusCode.InternalServerError, status);

        // an error answer carries no call id: the only request of this broker is the only row
        var row = await SpendRowAsync(broker.Http, null);
        Assert.Equal("failure", row["status"]!.GetValue<string>());
        Assert.Equal(0m, row["spend"]!.GetValue<decimal>());
        Assert.Equal(2, upstream.Requests.Count);
    }

    private static async Task<JsonNode> SpendRowAsync(HttpClient http, string? callId)
    {
        JsonArray rows = [];
        Assert.True(await EventuallyAsync(async () =>
        {
            var (status, body) = await GetAsync(http, callId is null ? "spend/logs" : "spend/logs?request_id=" + callId, MasterKey);
            rows = status == HttpStatusCode.OK && body is JsonArray array ? array : [];
            return rows.Count > 0;
        }, TimeSpan.FromSeconds(30)), "the request never showed in /spend/logs");
        return Assert.Single(rows)!;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.History;

/// <summary>
/// <c>GET /request/{id}</c>: the attempts the workers reported, stored by Billing, asked for over the bus by the Ingress,
/// embedded and with each role in its own host over RabbitMQ.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RequestHistoryTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-history-master-0001";

    private const string Chat = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";

    private static string Yaml(FakeUpstream upstream, string? databaseUrl) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up }
            model_info: { id: only-deployment }
        router_settings:
          timeout: 30
          num_retries: 1
          retry_after: 0
        general_settings:
          master_key: {{MasterKey}}
        {{(databaseUrl is null ? "" : $"  database_url: \"{databaseUrl}\"\n  proxy_batch_write_at: 0.2")}}
        """;

    [Fact]
    public async Task GetRequest_RetriedOnceThenSucceededEmbedded_ShowsBothAttempts()
    {
        await using var upstream = await FailingOnceAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, db.Url));

        await AssertRetriedHistoryAsync(broker.Http, upstream);
    }

    [Fact]
    public async Task GetRequest_RetriedOnceThenSucceededDistributed_ShowsBothAttempts()
    {
        await using var upstream = await FailingOnceAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(upstream, db.Url), url);

            await AssertRetriedHistoryAsync(broker.Http, upstream);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task GetRequest_RequestFailedEveryAttempt_ErrorAnswerNamesItAndHistoryShowsTheFailures()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream broke","type":"server_error"}}""", null);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null));

        var (status, callId) = await ChatAsync(broker.Http, MasterKey);

        // the error answer carries the request's id, as a success does
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.True(Guid.TryParse(callId, out _), $"x-litellm-call-id was '{callId}'");
        var (historyStatus, history) = await WaitForHistoryAsync(broker.Http, callId, MasterKey, 2);
        Assert.Equal(HttpStatusCode.OK, historyStatus);
        Assert.Equal(callId, history!["request_id"]!.GetValue<string>());
        Assert.Equal("failure", history["status"]!.GetValue<string>());
        Assert.All(history["attempts"]!.AsArray(), a => Assert.Equal("failure", a!["status"]!.GetValue<string>()));
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task GetRequest_AnotherKeysRequest_404ButOwnerAndMasterSeeIt()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, db.Url));
        var owner = await GenerateKeyAsync(broker.Http);
        var other = await GenerateKeyAsync(broker.Http);
        var (status, callId) = await ChatAsync(broker.Http, owner);
        Assert.Equal(HttpStatusCode.OK, status);

        var (ownerStatus, _) = await WaitForHistoryAsync(broker.Http, callId, owner, 1);
        var (otherStatus, otherBody) = await GetAsync(broker.Http, callId, other);
        var (masterStatus, _) = await GetAsync(broker.Http, callId, MasterKey);
        var (unknownStatus, unknownBody) = await GetAsync(broker.Http, Guid.NewGuid().ToString(), MasterKey);

        Assert.Equal(HttpStatusCode.OK, ownerStatus);
        Assert.Equal(HttpStatusCode.OK, masterStatus);
        Assert.Equal(HttpStatusCode.NotFound, otherStatus);
        Assert.Equal("request_not_found", otherBody!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        Assert.NotNull(unknownBody!["error"]!["message"]);
    }

    [Fact]
    public async Task GetRequest_RetriedOnceThenSucceededOnEmbeddedSqlite_ShowsBothAttempts()
    {
        await using var upstream = await FailingOnceAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, null));

        await AssertRetriedHistoryAsync(broker.Http, upstream);
        var (badStatus, _) = await GetAsync(broker.Http, "not-a-request-id", MasterKey);
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
    }

    [Fact]
    public async Task GetRequest_RolesApartWithoutDatabase_501InOpenAiShape()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(upstream, null), url);
            var (_, callId) = await ChatAsync(broker.Http, MasterKey);

            var (status, body) = await GetAsync(broker.Http, callId, MasterKey);

            Assert.Equal(HttpStatusCode.NotImplemented, status);
            Assert.Equal("history_not_configured", body!["error"]!["code"]!.GetValue<string>());
            Assert.Contains("database", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static async Task AssertRetriedHistoryAsync(HttpClient http, FakeUpstream upstream)
    {
        var (status, callId) = await ChatAsync(http, MasterKey);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, upstream.Requests.Count);

        var (historyStatus, history) = await WaitForHistoryAsync(http, callId, MasterKey, 2);

        Assert.Equal(HttpStatusCode.OK, historyStatus);
        Assert.Equal(callId, history!["request_id"]!.GetValue<string>());
        Assert.Equal("gpt-4o", history["model_group"]!.GetValue<string>());
        Assert.Equal("success", history["status"]!.GetValue<string>());
        var attempts = history["attempts"]!.AsArray();
        Assert.Equal(2, attempts.Count);
        var failed = attempts[0]!;
        Assert.Equal(1, failed["attempt"]!.GetValue<int>());
        Assert.Equal("failure", failed["status"]!.GetValue<string>());
        Assert.Equal("InternalServerError", failed["error_class"]!.GetValue<string>());
        Assert.Equal("only-deployment", failed["deployment_id"]!.GetValue<string>());
        Assert.Equal("gpt-4o", failed["model_group"]!.GetValue<string>());
        Assert.True(failed["latency_ms"]!.GetValue<double>() >= 0);
        Assert.True(DateTimeOffset.TryParse(failed["started_at"]!.GetValue<string>(), out _));
        var succeeded = attempts[1]!;
        Assert.Equal(2, succeeded["attempt"]!.GetValue<int>());
        Assert.Equal("success", succeeded["status"]!.GetValue<string>());
        Assert.Null(succeeded["error_class"]);
        Assert.Equal("only-deployment", succeeded["deployment_id"]!.GetValue<string>());
    }

    private static async Task<FakeUpstream> FailingOnceAsync()
    {
        var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream broke","type":"server_error"}}""", null);
        upstream.OnlyFirstRequests = 1;
        return upstream;
    }

    /// <summary>Billing stores attempts in batches: asks until the history has <paramref name="attempts"/> attempts (or 30 s passed).</summary>
    private static async Task<(HttpStatusCode Status, JsonNode? Body)> WaitForHistoryAsync(HttpClient http, string callId, string key, int attempts)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var (status, body) = await GetAsync(http, callId, key);
            if ((status == HttpStatusCode.OK && body?["attempts"]?.AsArray().Count >= attempts) || DateTime.UtcNow > deadline)
            {
                return (status, body);
            }

            await Task.Delay(200);
        }
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(HttpClient http, string id, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "request/" + id);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static async Task<(HttpStatusCode Status, string CallId)> ChatAsync(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(Chat, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Headers.TryGetValues("x-litellm-call-id", out var ids) ? ids.Single() : "");
    }

    private static async Task<string> GenerateKeyAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "key/generate") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();
    }
}

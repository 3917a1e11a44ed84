using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Batches;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Ui;

/// <summary>
/// One Broker (all roles, real PostgreSQL for the spend report and the runtime models) with traffic already billed,
/// and one browser, shared by the admin UI browser tests of a class. Traffic: five chat completions with the master
/// key (<see cref="CallIds"/>), two with a key of team <see cref="TeamId"/>, and one to group <c>flaky</c>, whose first
/// deployment answers 429 and so is cooling down. A user <see cref="UserId"/> has two keys (<see cref="UserKey"/> and
/// another); one more key belongs to nobody. One batch of two chat lines has completed (<see cref="BatchId"/>).
/// </summary>
public sealed class AdminUiFixture : IAsyncLifetime
{
    public const string MasterKey = "sk-ui-master-key-0001";

    public const string TeamId = "ui-fixture-team";
    public const string TeamAlias = "Fixture team";
    public const string UserId = "ui-fixture-user";

    private FakeUpstream _upstream = null!;
    private FakeUpstream _limited = null!;
    private TestDatabase _db = null!;

    public BrokerRunner Broker { get; private set; } = null!;

    public UiBrowser Browser { get; private set; } = null!;

    /// <summary>The fake provider's OpenAI base URL (…/v1), for models added at run time.</summary>
    public string UpstreamUrl => _upstream.BaseUrl + "/v1";

    public List<string> CallIds { get; } = [];

    /// <summary>A completed batch of two chat lines, and its output file.</summary>
    public string BatchId { get; private set; } = "";

    public string BatchOutputFileId { get; private set; } = "";

    /// <summary>A key of <see cref="UserId"/> (its alias <c>fixture-user-key-a</c>).</summary>
    public string UserKey { get; private set; } = "";

    /// <summary>The deployment of group <c>flaky</c> that answers 429 (cooling down once the fixture is up).</summary>
    public const string LimitedDeploymentId = "flaky-limited";

    public async Task InitializeAsync()
    {
        // the browser first: a missing browser fails here, before anything else is started
        Browser = await UiBrowser.LaunchAsync();
        _upstream = await FakeUpstream.StartOpenAiAsync();
        _limited = await FakeUpstream.StartOpenAiAsync();
        _limited.Failure = (429, """{"error":{"message":"slow down","type":"rate_limit_error"}}""", null);
        _db = await TestDatabase.CreateAsync();
        Broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/private-chat, api_base: "{{_upstream.BaseUrl}}/v1", api_key: sk-upstream-secret-0042 }
                model_info: { input_cost_per_token: 0.000002, output_cost_per_token: 0.000004 }
              - model_name: flaky
                litellm_params: { model: openai/limited, api_base: "{{_limited.BaseUrl}}/v1", api_key: sk-limited-secret-0099, order: 1 }
                model_info: { id: {{LimitedDeploymentId}} }
              - model_name: flaky
                litellm_params: { model: openai/backup, api_base: "{{_upstream.BaseUrl}}/v1", api_key: sk-backup-secret-0077, order: 2 }
                model_info: { id: flaky-backup }
            router_settings:
              cooldown_time: 600
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{_db.Url}}"
              proxy_batch_write_at: 0.2
              store_model_in_db: true
            """, settings: new Dictionary<string, string?> { ["Ingress:BatchPollSeconds"] = "0.2" });
        for (var i = 0; i < 5; i++)
        {
            CallIds.Add(await ChatAsync(MasterKey, "chat", expectOk: true));
        }

        await AdminPostAsync("team/new", $$"""{"team_id":"{{TeamId}}","team_alias":"{{TeamAlias}}"}""");
        var teamKey = (await AdminPostAsync("key/generate", $$"""{"team_id":"{{TeamId}}","key_alias":"fixture-team-key"}"""))["key"]!.GetValue<string>();
        await ChatAsync(teamKey, "chat", expectOk: true);
        await ChatAsync(teamKey, "chat", expectOk: true);
        await AdminPostAsync("user/new", $$"""{"user_id":"{{UserId}}","user_alias":"Fixture user","auto_create_key":false}""");
        UserKey = (await AdminPostAsync("key/generate", $$"""{"user_id":"{{UserId}}","key_alias":"fixture-user-key-a","max_budget":3}"""))["key"]!.GetValue<string>();
        await AdminPostAsync("key/generate", $$"""{"user_id":"{{UserId}}","key_alias":"fixture-user-key-b"}""");
        await AdminPostAsync("key/generate", """{"key_alias":"fixture-nobodys-key"}""");

        // the first deployment of flaky answers 429: it cools down (600 s) and the request goes on to the second
        await ChatAsync(MasterKey, "flaky", expectOk: false);

        var batches = new BatchTestClient(Broker, MasterKey);
        var batchInput = await batches.UploadAsync(BatchTestClient.ChatLine("ui-line-1", "chat") + "\n" + BatchTestClient.ChatLine("ui-line-2", "chat") + "\n");
        BatchId = (await batches.CreateAsync(batchInput))["id"]!.GetValue<string>();
        var batch = await batches.WaitAsync(BatchId, TimeSpan.FromSeconds(60));
        Assert.True(batch["status"]!.GetValue<string>() == "completed", batch.ToJsonString());
        BatchOutputFileId = batch["output_file_id"]!.GetValue<string>();

        // 7 chat completions with keys and the batch's 2 lines (the flaky request's row may come later)
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (await _db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") < 9 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
    }

    private async Task<string> ChatAsync(string key, string model, bool expectOk)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await Broker.Http.SendAsync(request);
        if (expectOk)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        return response.Headers.TryGetValues("x-litellm-call-id", out var ids) ? ids.Single() : "";
    }

    public async Task<JsonNode> AdminPostAsync(string path, string json)
    {
        using var request = Admin(HttpMethod.Post, path);
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await Broker.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>The status a key gets from its own /key/info (200 while it works, 401 once it no longer does).</summary>
    public async Task<HttpStatusCode> KeyInfoStatusAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "key/info");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await Broker.Http.SendAsync(request);
        return response.StatusCode;
    }

    public static HttpRequestMessage Admin(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        return request;
    }

    public async Task<JsonNode> AdminGetAsync(string path)
    {
        using var request = Admin(HttpMethod.Get, path);
        using var response = await Broker.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!;
    }

    public static string Dollars(decimal value) => "$" + value.ToString(CultureInfo.InvariantCulture);

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        if (Broker is not null)
        {
            await Broker.DisposeAsync();
        }

        if (_db is not null)
        {
            await _db.DisposeAsync();
        }

        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }

        if (_limited is not null)
        {
            await _limited.DisposeAsync();
        }
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Ui;

/// <summary>
/// One Broker (all roles, real PostgreSQL for the spend report) with five chat completions already billed, and one
/// browser, shared by the admin UI browser tests of a class.
/// </summary>
public sealed class AdminUiFixture : IAsyncLifetime
{
    public const string MasterKey = "sk-ui-master-key-0001";

    private FakeUpstream _upstream = null!;
    private TestDatabase _db = null!;

    public BrokerRunner Broker { get; private set; } = null!;

    public UiBrowser Browser { get; private set; } = null!;

    public List<string> CallIds { get; } = [];

    public async Task InitializeAsync()
    {
        // the browser first: a missing browser fails here, before anything else is started
        Browser = await UiBrowser.LaunchAsync();
        _upstream = await FakeUpstream.StartOpenAiAsync();
        _db = await TestDatabase.CreateAsync();
        Broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/private-chat, api_base: "{{_upstream.BaseUrl}}/v1", api_key: sk-up }
                model_info: { input_cost_per_token: 0.000002, output_cost_per_token: 0.000004 }
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{_db.Url}}"
              proxy_batch_write_at: 0.2
            """);
        for (var i = 0; i < 5; i++)
        {
            using var request = Admin(HttpMethod.Post, "v1/chat/completions");
            request.Content = new StringContent("""{"model":"chat","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
            using var response = await Broker.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            CallIds.Add(response.Headers.GetValues("x-litellm-call-id").Single());
        }

        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (await _db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") < 5 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
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
    }
}

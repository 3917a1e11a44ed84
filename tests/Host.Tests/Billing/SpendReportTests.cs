using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Cli;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Billing;

[Trait("Category", "Integration")]
public sealed class SpendReportTests : IAsyncLifetime
{
    private const string MasterKey = "sk-test-master-key-0002";
    private const decimal ChatCost = 13 * 0.000002m + 5 * 0.000004m;
    private FakeUpstream _upstream = null!;
    private TestDatabase _db = null!;
    private BrokerRunner _broker = null!;
    private readonly List<(string RequestId, decimal Cost)> _calls = [];

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartOpenAiAsync();
        _db = await TestDatabase.CreateAsync();
        _broker = await BrokerRunner.StartEmbeddedAsync($$"""
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
            using var request = Request(HttpMethod.Post, "v1/chat/completions");
            request.Content = new StringContent("""{"model":"chat","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
            using var response = await _broker.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            _calls.Add((response.Headers.GetValues("x-litellm-call-id").Single(),
                decimal.Parse(response.Headers.GetValues("x-litellm-response-cost").Single(), CultureInfo.InvariantCulture)));
        }

        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (await _db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") < 5 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _db.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        return request;
    }

    private async Task<JsonNode> GetAsync(string path)
    {
        using var request = Request(HttpMethod.Get, path);
        using var response = await _broker.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task SpendLogs_ByRequestId_ReturnsThatRequestsRow()
    {
        var (requestId, cost) = _calls[2];

        var rows = (await GetAsync($"spend/logs?request_id={requestId}")).AsArray();

        var row = Assert.Single(rows)!;
        Assert.Equal(requestId, row["request_id"]!.GetValue<string>());
        Assert.Equal(cost, row["spend"]!.GetValue<decimal>());
        Assert.Equal(ChatCost, cost);
        Assert.Equal(18, row["total_tokens"]!.GetValue<int>());
        Assert.Equal("chat", row["model_group"]!.GetValue<string>());
        Assert.Equal("success", row["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task SpendLogs_DateRangeSummarized_SpendPerDayByModel()
    {
        var today = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var days = (await GetAsync($"spend/logs?start_date={today}&end_date={today}")).AsArray();

        var day = Assert.Single(days)!;
        Assert.Equal(5 * ChatCost, day["spend"]!.GetValue<decimal>());
        Assert.Equal(5 * ChatCost, day["models"]!["chat"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task SpendLogs_NoKey_Unauthorized()
    {
        using var response = await _broker.Http.GetAsync("spend/logs");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GlobalSpendReport_GroupByModel_TotalsPerModel()
    {
        var days = (await GetAsync("global/spend/report?group_by=model")).AsArray();

        var model = Assert.Single(Assert.Single(days)!["models"]!.AsArray())!;
        Assert.Equal("chat", model["model"]!.GetValue<string>());
        Assert.Equal(5 * ChatCost, model["total_spend"]!.GetValue<decimal>());
        Assert.Equal(5, model["request_count"]!.GetValue<long>());
    }

    [Fact]
    public async Task GlobalSpendReport_GroupByTeam_UnassignedTeamWithModelMetadata()
    {
        var days = (await GetAsync("global/spend/report?group_by=team")).AsArray();

        var team = Assert.Single(Assert.Single(days)!["teams"]!.AsArray())!;
        Assert.Equal("Unassigned", team["team_name"]!.GetValue<string>());
        Assert.Equal(5 * ChatCost, team["total_spend"]!.GetValue<decimal>());
        Assert.Equal("chat", team["metadata"]![0]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task SpendCli_Days7_PrintsTableWithModelAndTotal()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = new Dictionary<string, string> { ["LITELLM_PROXY_URL"] = _broker.BaseUrl, ["LITELLM_PROXY_API_KEY"] = MasterKey };

        var code = await BrokerCli.InvokeAsync(["spend", "--days", "7"], stdout, stderr, n => env.GetValueOrDefault(n));

        Assert.True(code == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n');
        Assert.Contains(lines, l => l.Contains("chat", StringComparison.Ordinal) && l.Contains((5 * ChatCost).ToString("0.000000", CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Total", StringComparison.Ordinal) && l.Contains(" 5 ", StringComparison.Ordinal));
    }
}

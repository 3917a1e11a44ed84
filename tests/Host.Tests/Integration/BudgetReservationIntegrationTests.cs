using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Extensions.Hosting;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Integration;

/// <summary>
/// Budgets and tpm limits under concurrency, through the real path: every request reserves its estimated cost and tokens
/// before it is queued and settles with what the answer cost, so a budget one answer exhausts serves only the requests
/// in flight when it was crossed (here: the first, whose estimate alone crosses it), also while Billing has not written
/// the spend yet, and across Ingress instances sharing Redis.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BudgetReservationIntegrationTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    // one answer (13 prompt + 5 completion tokens from FakeUpstream) costs 0.0000328: more than the whole budget; a
    // request's estimate (256 output tokens × 0.0000037 = 0.00095 and more) is far more than the budget too
    private const decimal ChatCost = 13 * 0.0000011m + 5 * 0.0000037m;
    private const decimal Budget = 0.00002m;

    private static string Yaml(string upstream, string databaseUrl) => $$"""
        model_list:
          - model_name: priced
            litellm_params: { model: openai/private-priced, api_base: "{{upstream}}/v1", api_key: sk-up }
            model_info: { input_cost_per_token: 0.0000011, output_cost_per_token: 0.0000037 }
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
          proxy_batch_write_at: 1
        """;

    [Fact]
    public async Task KeyBudget_OneAnswerExhaustsIt_ThirtyParallelRequestsServeOnlyTheFirst()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(300);
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = Budget });

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => ChatAsync(broker.Http, key, "priced")));

        // the first request's reservation crosses the budget: no other was in flight, so no other runs
        Assert.Equal(1, answers.Count(a => a.Status == HttpStatusCode.OK));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => AssertBudgetExceeded(a.Status, a.Body));
        Assert.Single(upstream.Requests);
        await AssertKeySpendAsync(broker.Http, key, ChatCost);
    }

    [Fact]
    public async Task KeyBudget_CrossedByOneAnswer_NextRequestsRefusedBeforeBillingWritesIt()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = Budget });

        var first = await ChatAsync(broker.Http, key, "priced");
        var next = new List<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)>();
        for (var i = 0; i < 5; i++)
        {
            next.Add(await ChatAsync(broker.Http, key, "priced"));
        }

        Assert.Equal(HttpStatusCode.OK, first.Status);
        // Billing writes spend once a second here; the answer's cost counts from the moment it was answered
        Assert.All(next, a => AssertBudgetExceeded(a.Status, a.Body));
        Assert.Contains("ExceededTokenBudget: Current spend for token: 0.0000328", Message(next[0].Body), StringComparison.Ordinal);
        Assert.Single(upstream.Requests);
        await AssertKeySpendAsync(broker.Http, key, ChatCost);
        AssertBudgetExceeded(await ChatAsync(broker.Http, key, "priced"));
    }

    [Fact]
    public async Task KeyTpmLimit_TwentyParallelRequestsOfEighteenTokens_AtMostThreeServed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(300);
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { tpm_limit = 50 });
        while (DateTime.UtcNow.Second > 45)
        {
            await Task.Delay(500); // all in one tpm minute
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => ChatAsync(broker.Http, key, "priced")));

        // 18 tokens each: at most 3 fit under 50 even if every estimate were exact
        var served = answers.Count(a => a.Status == HttpStatusCode.OK);
        Assert.InRange(served, 1, 3);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, a.Status);
            Assert.Contains("tpm limit: 50", AssertOpenAiError(a.Body, "rate_limit_error")["message"]!.GetValue<string>(), StringComparison.Ordinal);
        });
        Assert.Equal(served, upstream.Requests.Count);
    }

    [Fact]
    public async Task KeyBudget_TwoIngressHostsSharingRedisDistributed_ServeOnlyTheFirstOfThirtyParallel()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(300);
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            var redis = Environment.GetEnvironmentVariable("REDIS_URL");
            Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream.BaseUrl, db.Url), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis });
            using var a = Client(broker.Hosts[2]);
            using var b = Client(broker.Hosts[3]);
            var key = await GenerateKeyAsync(a, new { max_budget = Budget });
            // both instances know the key before the burst
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(a, $"key/info?key={key}", MasterKey)).Status);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(b, $"key/info?key={key}", MasterKey)).Status);

            var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => ChatAsync(i % 2 == 0 ? a : b, key, "priced")));

            Assert.Equal(1, answers.Count(x => x.Status == HttpStatusCode.OK));
            Assert.All(answers.Where(x => x.Status != HttpStatusCode.OK), x => AssertBudgetExceeded(x.Status, x.Body));
            // right after, on either instance, before Billing has written anything
            AssertBudgetExceeded(await ChatAsync(a, key, "priced"));
            AssertBudgetExceeded(await ChatAsync(b, key, "priced"));
            Assert.Single(upstream.Requests);
            await AssertKeySpendAsync(b, key, ChatCost);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static void AssertBudgetExceeded((HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) answer) =>
        AssertBudgetExceeded(answer.Status, answer.Body);

    private static void AssertBudgetExceeded(HttpStatusCode status, JsonNode? body)
    {
        Assert.True(status == HttpStatusCode.BadRequest, $"{status} {body}");
        Assert.Equal("budget_exceeded", AssertOpenAiError(body)["type"]?.GetValue<string>());
    }

    private static string Message(JsonNode? body) => AssertOpenAiError(body)["message"]!.GetValue<string>();

    private static async Task AssertKeySpendAsync(HttpClient http, string key, decimal expected)
    {
        decimal? seen = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            var (_, info) = await GetAsync(http, $"key/info?key={key}", MasterKey);
            var spend = info?["info"]?["spend"];
            seen = spend?.GetValueKind() switch
            {
                System.Text.Json.JsonValueKind.Number => spend.GetValue<decimal>(),
                System.Text.Json.JsonValueKind.String => decimal.Parse(spend.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
                _ => null,
            };
            return seen == expected;
        }, TimeSpan.FromSeconds(30)), $"key spend {seen}, expected {expected}");
    }

    private static HttpClient Client(IHost host) =>
        new() { BaseAddress = new Uri(BrokerApp.Addresses(host)[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
}

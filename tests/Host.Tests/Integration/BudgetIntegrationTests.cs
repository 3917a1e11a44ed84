using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Extensions.Hosting;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Integration;

/// <summary>
/// Keys, Billing, spend endpoints, alerts and caching together through the real path: budgets are enforced only
/// from spend Billing computed (Workers' prices × FakeUpstream's 13 prompt + 5 completion tokens) and wrote to
/// PostgreSQL; nothing is written to the database by hand.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BudgetIntegrationTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    // 13 × 0.0000011 + 5 × 0.0000037 = 0.0000328 per chat answer: a budget of 0.0001 holds 3–4 requests
    private const decimal ChatCost = 13 * 0.0000011m + 5 * 0.0000037m;
    private const decimal Budget = 0.0001m;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static string Yaml(string upstream, string databaseUrl, string extraGeneral = "", string extraTop = "") => $$"""
        model_list:
          - model_name: priced
            litellm_params: { model: openai/private-priced, api_base: "{{upstream}}/v1", api_key: sk-up }
            model_info: { input_cost_per_token: 0.0000011, output_cost_per_token: 0.0000037 }
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
          proxy_batch_write_at: 0.2
        {{extraGeneral}}
        {{extraTop}}
        """;

    [Fact]
    public async Task KeyBudget_SpendWrittenByBilling_RefusesKeyAndSpendMatchesHeaders()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = Budget, key_alias = "budget-key" });

        var run = await SpendUntilRefusedAsync([broker.Http], key);

        Assert.True(run.Costs.Count >= 3, $"only {run.Costs.Count} request(s) succeeded before the refusal");
        Assert.All(run.Costs, c => Assert.Equal(ChatCost, c));
        var message = AssertBudgetExceeded(run.Refusal);
        Assert.Contains("ExceededTokenBudget: Current spend for token:", message, StringComparison.Ordinal);
        Assert.Contains("Max Budget for Token: 0.0001", message, StringComparison.Ordinal);
        await AssertKeySpendAsync(broker.Http, key, run.Costs.Sum());
        await AssertSpendLogsAsync(broker.Http, key, run.RequestIds, run.Costs.Sum());
        // still refused (the spend does not fall back when caches expire)
        AssertBudgetExceeded((await ChatAsync(broker.Http, key, "priced")).Body);
    }

    [Fact]
    public async Task TeamBudget_SpendWrittenByBilling_RefusesTeamKeys()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var (status, team, _) = await PostAsync(broker.Http, "team/new", MasterKey, new { team_alias = "budget-team", max_budget = Budget });
        Assert.True(status == HttpStatusCode.OK, $"team/new: {status} {team}");
        var teamId = team!["team_id"]!.GetValue<string>();
        var first = await GenerateKeyAsync(broker.Http, new { team_id = teamId });
        var second = await GenerateKeyAsync(broker.Http, new { team_id = teamId });

        var run = await SpendUntilRefusedAsync([broker.Http], first);

        var message = AssertBudgetExceeded(run.Refusal);
        Assert.Contains($"Budget has been exceeded! Team={teamId}", message, StringComparison.Ordinal);
        // the team's other key is refused as well: the budget is the team's
        AssertBudgetExceeded((await ChatAsync(broker.Http, second, "priced")).Body);
        var total = run.Costs.Sum();
        Assert.True(await EventuallyAsync(async () =>
        {
            var (_, info) = await GetAsync(broker.Http, $"team/info?team_id={teamId}", MasterKey);
            return Spend(info?["team_info"]?["spend"] ?? info?["spend"]) == total;
        }, Deadline), $"team spend never reached {total}");
        await AssertKeySpendAsync(broker.Http, first, total);
    }

    [Fact]
    public async Task UserBudget_SpendWrittenByBilling_RefusesUsersKeys()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var (status, user, _) = await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "budget-user", max_budget = Budget, auto_create_key = false });
        Assert.True(status == HttpStatusCode.OK, $"user/new: {status} {user}");
        var key = await GenerateKeyAsync(broker.Http, new { user_id = "budget-user" });

        var run = await SpendUntilRefusedAsync([broker.Http], key);

        Assert.Contains("ExceededBudget: User=budget-user", AssertBudgetExceeded(run.Refusal), StringComparison.Ordinal);
        await AssertKeySpendAsync(broker.Http, key, run.Costs.Sum());
    }

    [Fact]
    public async Task ProxyBudget_SpentByKeys_RefusesEveryKeyButNotTheMasterKey()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, extraTop: $"litellm_settings:\n  max_budget: {Budget}"));
        var first = await GenerateKeyAsync(broker.Http, new { });
        var second = await GenerateKeyAsync(broker.Http, new { });

        var run = await SpendUntilRefusedAsync([broker.Http], first);

        Assert.Contains("Budget has been exceeded! Current cost:", AssertBudgetExceeded(run.Refusal), StringComparison.Ordinal);
        AssertBudgetExceeded((await ChatAsync(broker.Http, second, "priced")).Body);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, MasterKey, "priced")).Status);
    }

    [Fact]
    public async Task KeyBudget_Crossed_SendsOneBudgetAlertToWebhook()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var receiver = await FakeReceiver.StartAsync();
        await using var db = await TestDatabase.CreateAsync();
        var general = $$"""
              alerting: ["webhook"]
              alert_types: ["budget_alerts"]
              alert_to_webhook_url: { budget_alerts: "{{receiver.BaseUrl}}/budget" }
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, general));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "user/new", MasterKey, new { user_id = "alert-owner", user_email = "owner@example.com", auto_create_key = false })).Status);
        var (_, generated, _) = await PostAsync(broker.Http, "key/generate", MasterKey, new { max_budget = Budget, key_alias = "alerted-key", user_id = "alert-owner" });
        var key = generated!["key"]!.GetValue<string>();
        var hash = generated["token"]!.GetValue<string>();

        var run = await SpendUntilRefusedAsync([broker.Http], key);
        AssertBudgetExceeded(run.Refusal);
        await receiver.WaitForAsync(r => r.Any(x => Event(x) == "budget_crossed"));
        // more (refused) requests and later batches must not send it again
        for (var i = 0; i < 5; i++)
        {
            await ChatAsync(broker.Http, key, "priced");
        }

        await Task.Delay(TimeSpan.FromSeconds(3));

        var crossed = Assert.Single(receiver.Accepted, x => Event(x) == "budget_crossed");
        Assert.Equal("/budget", crossed.Path);
        var body = JsonNode.Parse(crossed.Body)!;
        Assert.Equal(hash, body["token"]?.GetValue<string>());
        Assert.Equal("alerted-key", body["key_alias"]?.GetValue<string>());
        Assert.Equal("alert-owner", body["user_id"]?.GetValue<string>());
        Assert.Equal("owner@example.com", body["user_email"]?.GetValue<string>());
        Assert.Equal("budget_alerts", body["alert_type"]?.GetValue<string>());
        Assert.Equal(Budget, Spend(body["max_budget"]));
        Assert.True(Spend(body["spend"]) >= Budget, $"alert spend {body["spend"]}");
        Assert.True(receiver.Accepted.Count(x => Event(x) == "threshold_crossed") <= 1);
        Assert.All(receiver.Accepted, x => Assert.Equal("/budget", x.Path));
    }

    [Fact]
    public async Task KeyBudget_CrossedWithTwoBillingHostsDistributed_SendsOneSlackAlert()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var slack = await FakeReceiver.StartAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            var redis = Environment.GetEnvironmentVariable("REDIS_URL");
            Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
            var general = $$"""
                  alerting: ["slack"]
                  alert_types: ["budget_alerts"]
                  alerting_args: { slack_webhook_url: "{{slack.BaseUrl}}/slack" }
                """;
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream.BaseUrl, db.Url, general), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis });
            using var http = Client(broker.Hosts[3]);
            var key = await GenerateKeyAsync(http, new { max_budget = Budget, key_alias = "slack-key" });

            var run = await SpendUntilRefusedAsync([http], key);
            AssertBudgetExceeded(run.Refusal);
            await slack.WaitForAsync(r => r.Any(x => x.Body.Contains("Budget Crossed", StringComparison.Ordinal)));
            await Task.Delay(TimeSpan.FromSeconds(3));

            var crossed = Assert.Single(slack.Accepted, x => x.Body.Contains("Budget Crossed", StringComparison.Ordinal));
            Assert.Equal("/slack", crossed.Path);
            Assert.NotNull(JsonNode.Parse(crossed.Body)?["text"]);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task KeyBudget_TwoIngressHostsDistributed_HoldsOnBoth()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
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
            // both ingress instances have the key (and its spend 0) in their caches before any spend
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(a, key, "priced")).Status);
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(b, key, "priced")).Status);

            var run = await SpendUntilRefusedAsync([a, b], key);

            AssertBudgetExceeded(run.Refusal);
            // the other instance refuses too, from the spend Billing published (its cache would hold the key for 30 s)
            Assert.True(await EventuallyAsync(async () => (await ChatAsync(a, key, "priced")).Status == HttpStatusCode.BadRequest, TimeSpan.FromSeconds(15)), "ingress a kept accepting");
            Assert.True(await EventuallyAsync(async () => (await ChatAsync(b, key, "priced")).Status == HttpStatusCode.BadRequest, TimeSpan.FromSeconds(15)), "ingress b kept accepting");
            await AssertKeySpendAsync(b, key, run.Costs.Sum() + 2 * ChatCost);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task CacheHit_WithVirtualKey_LoggedWithZeroSpendAndKeyHash()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var top = """
            litellm_settings:
              cache: true
              cache_params: {type: local}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, extraTop: top));
        var (_, generated, _) = await PostAsync(broker.Http, "key/generate", MasterKey, new { key_alias = "cached-key" });
        var key = generated!["key"]!.GetValue<string>();
        var hash = generated["token"]!.GetValue<string>();

        var miss = await ChatAsync(broker.Http, key, "priced");
        var hit = await ChatAsync(broker.Http, key, "priced");

        Assert.Equal(HttpStatusCode.OK, miss.Status);
        Assert.Equal(HttpStatusCode.OK, hit.Status);
        Assert.Equal("true", hit.Response.Headers.GetValues("x-litellm-cache-hit").Single());
        Assert.Single(upstream.Requests);
        var hitId = hit.Response.Headers.GetValues("x-litellm-call-id").Single();
        JsonArray? rows = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            rows = (await GetAsync(broker.Http, $"spend/logs?api_key={key}", MasterKey)).Body as JsonArray;
            return rows?.Count == 2;
        }, Deadline), $"spend logs: {rows?.ToJsonString()}");
        var hitRow = Assert.Single(rows!, r => r!["request_id"]!.GetValue<string>() == hitId)!;
        Assert.Equal(0m, Spend(hitRow["spend"]));
        Assert.Equal("True", hitRow["cache_hit"]!.GetValue<string>());
        Assert.Equal(hash, hitRow["api_key"]!.GetValue<string>());
        Assert.Equal("cached-key", hitRow["metadata"]!["user_api_key_alias"]?.GetValue<string>());
        var missRow = Assert.Single(rows!, r => r!["request_id"]!.GetValue<string>() != hitId)!;
        Assert.Equal(ChatCost, Spend(missRow["spend"]));
        Assert.Equal("False", missRow["cache_hit"]!.GetValue<string>());
        await AssertKeySpendAsync(broker.Http, key, ChatCost);
    }

    [Fact]
    public async Task CacheHit_WithVirtualKeyOnOtherIngressDistributed_LoggedWithZeroSpendAndKeyHash()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            var redis = Environment.GetEnvironmentVariable("REDIS_URL");
            Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
            var top = $$"""
                litellm_settings:
                  cache: true
                  cache_params: {type: redis, namespace: "int-{{Guid.NewGuid():N}}"}
                """;
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream.BaseUrl, db.Url, extraTop: top), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis });
            using var a = Client(broker.Hosts[2]);
            using var b = Client(broker.Hosts[3]);
            var (_, generated, _) = await PostAsync(a, "key/generate", MasterKey, new { key_alias = "shared-cache-key" });
            var key = generated!["key"]!.GetValue<string>();
            var hash = generated["token"]!.GetValue<string>();

            var miss = await ChatAsync(a, key, "priced");
            var hit = await ChatAsync(b, key, "priced");

            Assert.Equal(HttpStatusCode.OK, miss.Status);
            Assert.Equal("true", hit.Response.Headers.GetValues("x-litellm-cache-hit").Single());
            Assert.Single(upstream.Requests);
            var hitId = hit.Response.Headers.GetValues("x-litellm-call-id").Single();
            JsonArray? rows = null;
            Assert.True(await EventuallyAsync(async () =>
            {
                rows = (await GetAsync(b, $"spend/logs?api_key={hash}", MasterKey)).Body as JsonArray;
                return rows?.Count == 2;
            }, Deadline), $"spend logs: {rows?.ToJsonString()}");
            var hitRow = Assert.Single(rows!, r => r!["request_id"]!.GetValue<string>() == hitId)!;
            Assert.Equal((0m, "True", hash), (Spend(hitRow["spend"]), hitRow["cache_hit"]!.GetValue<string>(), hitRow["api_key"]!.GetValue<string>()));
            await AssertKeySpendAsync(a, key, ChatCost);
            var report = (await GetAsync(a, "global/spend/report?group_by=api_key", MasterKey)).Body;
            Assert.Contains(hash, report?.ToJsonString() ?? "", StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private sealed record SpendRun(List<decimal> Costs, List<string> RequestIds, JsonNode? Refusal);

    /// <summary>Sends chat requests (round-robin over the clients) until one is refused; each success's cost header is kept.</summary>
    private static async Task<SpendRun> SpendUntilRefusedAsync(IReadOnlyList<HttpClient> clients, string key)
    {
        var costs = new List<decimal>();
        var ids = new List<string>();
        var deadline = DateTime.UtcNow + Deadline;
        for (var i = 0; DateTime.UtcNow < deadline; i++)
        {
            var (status, body, response) = await ChatAsync(clients[i % clients.Count], key, "priced");
            if (status != HttpStatusCode.OK)
            {
                Assert.True(status == HttpStatusCode.BadRequest, $"request {i}: {status} {body}");
                return new SpendRun(costs, ids, body);
            }

            costs.Add(decimal.Parse(response.Headers.GetValues("x-litellm-response-cost").Single(), NumberStyles.Float, CultureInfo.InvariantCulture));
            ids.Add(response.Headers.GetValues("x-litellm-call-id").Single());
            await Task.Delay(150);
        }

        Assert.Fail($"the key was never refused within {Deadline}: {costs.Count} requests, spend {costs.Sum()} of budget {Budget}");
        return null!;
    }

    private static string AssertBudgetExceeded(JsonNode? body)
    {
        var error = AssertOpenAiError(body);
        Assert.Equal("budget_exceeded", error["type"]?.GetValue<string>());
        return error["message"]!.GetValue<string>();
    }

    private static async Task AssertKeySpendAsync(HttpClient http, string key, decimal expected)
    {
        decimal? seen = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            var (_, info) = await GetAsync(http, $"key/info?key={key}", MasterKey);
            seen = Spend(info?["info"]?["spend"]);
            return seen == expected;
        }, Deadline), $"key spend {seen}, expected {expected}");
    }

    private static async Task AssertSpendLogsAsync(HttpClient http, string key, List<string> requestIds, decimal total)
    {
        JsonArray? rows = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            rows = (await GetAsync(http, $"spend/logs?api_key={key}", MasterKey)).Body as JsonArray;
            return rows?.Count == requestIds.Count;
        }, Deadline), $"spend logs: {rows?.ToJsonString()}");
        Assert.Equal(requestIds.Order(), rows!.Select(r => r!["request_id"]!.GetValue<string>()).Order());
        Assert.Equal(total, rows!.Sum(r => Spend(r!["spend"]) ?? 0));
    }

    private static decimal? Spend(JsonNode? node) => node?.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.Number => node.GetValue<decimal>(),
        System.Text.Json.JsonValueKind.String => decimal.Parse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => null,
    };

    private static string? Event(ReceivedRequest request) =>
        JsonNode.Parse(request.Body)?["event"]?.GetValue<string>();

    private static HttpClient Client(IHost host) =>
        new() { BaseAddress = new Uri(BrokerApp.Addresses(host)[0] + "/"), Timeout = TimeSpan.FromSeconds(60) };
}

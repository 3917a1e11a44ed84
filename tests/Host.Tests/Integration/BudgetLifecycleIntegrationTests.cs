using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Broker.Contracts.Billing;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Integration;

/// <summary>
/// Spend of every kind of request reaching the key that made it, and budgets changing under a running gateway
/// (raised by /key/update, reset by budget_duration), through the real path with spend written by Billing.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BudgetLifecycleIntegrationTests
{
    private const decimal ChatCost = 13 * 0.0000011m + 5 * 0.0000037m;
    private const decimal Budget = 0.0001m;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static string Yaml(string upstream, string databaseUrl) => $$"""
        model_list:
          - model_name: priced
            litellm_params: { model: openai/private-priced, api_base: "{{upstream}}/v1", api_key: sk-up }
            model_info: { input_cost_per_token: 0.0000011, output_cost_per_token: 0.0000037 }
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
          proxy_batch_write_at: 0.2
        """;

    [Fact]
    public async Task Spend_StreamedMessagesAndResponsesWithKey_AllCountedOnTheKey()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var (_, generated, _) = await PostAsync(broker.Http, "key/generate", MasterKey, new { key_alias = "many-routes" });
        var key = generated!["key"]!.GetValue<string>();
        var hash = generated["token"]!.GetValue<string>();

        var stream = new JsonObject
        {
            ["model"] = "priced",
            ["stream"] = true,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        var streamed = await PostRawAsync(broker.Http, "v1/chat/completions", key, stream);
        var messages = await PostAsync(broker.Http, "v1/messages", key, new JsonObject
        {
            ["model"] = "priced",
            ["max_tokens"] = 20,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        });
        var responses = await PostAsync(broker.Http, "v1/responses", key, new JsonObject { ["model"] = "priced", ["input"] = "hi" });
        var chat = await ChatAsync(broker.Http, key, "priced");

        Assert.True(streamed.Status == HttpStatusCode.OK, $"stream: {streamed.Status} {streamed.Text}");
        Assert.Contains("[DONE]", streamed.Text, StringComparison.Ordinal);
        Assert.True(messages.Status == HttpStatusCode.OK, $"messages: {messages.Status} {messages.Body}");
        Assert.True(responses.Status == HttpStatusCode.OK, $"responses: {responses.Status} {responses.Body}");
        Assert.Equal(HttpStatusCode.OK, chat.Status);
        JsonArray? rows = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            rows = (await GetAsync(broker.Http, $"spend/logs?api_key={key}", MasterKey)).Body as JsonArray;
            return rows?.Count == 4;
        }, Deadline), $"spend logs: {rows?.ToJsonString()}");
        Assert.All(rows!, r =>
        {
            Assert.Equal(hash, r!["api_key"]!.GetValue<string>());
            Assert.Equal(ChatCost, r["spend"]!.GetValue<decimal>());
            Assert.Equal("many-routes", r["metadata"]!["user_api_key_alias"]?.GetValue<string>());
        });
        await AssertKeySpendAsync(broker.Http, key, 4 * ChatCost);
    }

    [Fact]
    public async Task KeyUpdate_MaxBudgetRaisedAfterRefusal_KeyWorksAgain()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = Budget });
        var spent = await SpendUntilRefusedAsync(broker.Http, key);

        var (status, body, _) = await PostAsync(broker.Http, "key/update", MasterKey, new { key, max_budget = 1 });
        Assert.True(status == HttpStatusCode.OK, $"key/update: {status} {body}");
        var after = await ChatAsync(broker.Http, key, "priced");

        Assert.True(after.Status == HttpStatusCode.OK, $"after raising the budget: {after.Status} {after.Body}");
        // the update kept the spend Billing wrote
        await AssertKeySpendAsync(broker.Http, key, spent.Sum() + ChatCost);
    }

    [Fact]
    public async Task BudgetDuration_PeriodPasses_KeyWorksAgainFromZeroAndIsRefusedAgain()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url),
            settings: new Dictionary<string, string?> { ["Billing:BudgetResetIntervalSeconds"] = "1" });
        var key = await GenerateKeyAsync(broker.Http, new { max_budget = Budget, budget_duration = "20s" });
        await SpendUntilRefusedAsync(broker.Http, key);

        Assert.True(await EventuallyAsync(async () => (await ChatAsync(broker.Http, key, "priced")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(90)),
            "the key was not usable again after its budget period");
        // the new period's spend starts from 0 and is enforced again; the request that got through counts in it
        var second = await SpendUntilRefusedAsync(broker.Http, key);
        Assert.True(second.Count >= 1, "the new period allowed no request at all");
    }

    [Fact]
    public async Task SpendTotalsChanged_OlderTotalArrivesLate_KeyStaysRefused()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var (_, generated, _) = await PostAsync(broker.Http, "key/generate", MasterKey, new { max_budget = Budget });
        var key = generated!["key"]!.GetValue<string>();
        var hash = generated["token"]!.GetValue<string>();
        await SpendUntilRefusedAsync(broker.Http, key);

        // the Ingress refuses as soon as the answer that crossed the budget settles its reservation; Billing's total
        // follows within about a second
        var spent = 0m;
        for (var waited = 0; waited < 100 && spent < Budget; waited++)
        {
            spent = (await GetAsync(broker.Http, $"key/info?key={key}", MasterKey)).Body!["info"]!["spend"]!.GetValue<decimal>();
            if (spent < Budget)
            {
                await Task.Delay(200);
            }
        }

        var bus = broker.Hosts[0].Services.GetRequiredService<IBus>();

        // a total from an earlier batch, delivered after the later one (concurrent consumers, two Billing processes)
        await bus.Publish(new SpendTotalsChanged { Totals = [new EntitySpend { EntityType = "key", EntityId = hash, Spend = ChatCost }] });
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = await ChatAsync(broker.Http, key, "priced");

        Assert.True(spent >= Budget, $"spend {spent}");
        Assert.True(after.Status == HttpStatusCode.BadRequest, $"the key spent again after a late, older total: {after.Status} {after.Body}");
    }

    private static async Task<List<decimal>> SpendUntilRefusedAsync(HttpClient http, string key)
    {
        var costs = new List<decimal>();
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body, response) = await ChatAsync(http, key, "priced");
            if (status != HttpStatusCode.OK)
            {
                Assert.True(status == HttpStatusCode.BadRequest, $"{status} {body}");
                Assert.Equal("budget_exceeded", AssertOpenAiError(body)["type"]?.GetValue<string>());
                return costs;
            }

            costs.Add(decimal.Parse(response.Headers.GetValues("x-litellm-response-cost").Single(), NumberStyles.Float, CultureInfo.InvariantCulture));
            await Task.Delay(150);
        }

        Assert.Fail($"never refused: {costs.Count} requests");
        return costs;
    }

    private static async Task AssertKeySpendAsync(HttpClient http, string key, decimal expected)
    {
        decimal? seen = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            var (_, info) = await GetAsync(http, $"key/info?key={key}", MasterKey);
            seen = info?["info"]?["spend"]?.GetValue<decimal>();
            return seen == expected;
        }, Deadline), $"key spend {seen}, expected {expected}");
    }

    private static async Task<(HttpStatusCode Status, string Text)> PostRawAsync(HttpClient http, string path, string key, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Broker.Contracts.Alerts;
using Broker.Contracts.Billing;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Billing;

/// <summary>
/// Exact spend through the whole gateway: the fake provider answers chat with 13 prompt + 5 completion tokens and
/// embeddings with 4 prompt tokens; the config gives both deployments prices; every request must be counted once.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SpendEndToEndTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-test-master-key-0001";

    // 13 × 0.0000011 + 5 × 0.0000037 and 4 × 0.00000013
    private const decimal ChatCost = 13 * 0.0000011m + 5 * 0.0000037m;
    private const decimal EmbeddingCost = 4 * 0.00000013m;

    private static string Yaml(string upstream, string databaseUrl, string extra = "") => $$"""
        model_list:
          - model_name: chat
            litellm_params: { model: openai/private-chat, api_base: "{{upstream}}/v1", api_key: sk-up }
            model_info: { input_cost_per_token: 0.0000011, output_cost_per_token: 0.0000037 }
          - model_name: embed
            litellm_params: { model: openai/text-embedding-3-large, api_base: "{{upstream}}/v1", api_key: sk-up }
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
          proxy_batch_write_at: 0.2
        {{extra}}
        """;

    [Fact]
    public async Task Spend_ThousandRequestsEmbedded_TotalsEqualSumOfCostsExactly()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));

        var costs = await SendAsync(broker.Http, 0, 1000);

        Assert.Equal(1000, costs.Count);
        Assert.Equal(800 * ChatCost + 200 * EmbeddingCost, costs.Sum());
        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 1000);
        Assert.Equal(costs.Sum(), await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
        Assert.Equal(costs.Sum(), await db.ScalarAsync<decimal>("SELECT sum(cost) FROM broker_spend_logs"));
        Assert.Equal(800 * ChatCost, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'model_group' AND entity_id = 'chat'"));
        Assert.Equal(800L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs WHERE model_group = 'chat' AND prompt_tokens = 13 AND completion_tokens = 5 AND status = 'success'"));
    }

    [Fact]
    public async Task Spend_BillingHostRestartedMidStreamDistributed_StillExact()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(upstream.BaseUrl, db.Url), url);
            var billing = broker.Hosts[1];

            var first = await SendAsync(broker.Http, 0, 300);
            // stop Billing while the stream goes on: its usage events wait in the durable queue
            var stopping = broker.StopHostAsync(billing);
            var during = await SendAsync(broker.Http, 300, 300);
            await stopping;
            var whileStopped = await SendAsync(broker.Http, 600, 200);
            await broker.StartHostAsync(BrokerRoles.Billing);
            var after = await SendAsync(broker.Http, 800, 200);

            var expected = first.Concat(during).Concat(whileStopped).Concat(after).Sum();
            Assert.Equal(800 * ChatCost + 200 * EmbeddingCost, expected);
            await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 1000);
            Assert.Equal(expected, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
            Assert.Equal(expected, await db.ScalarAsync<decimal>("SELECT sum(cost) FROM broker_spend_logs"));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Spend_DatabaseDownMidStreamDistributed_ExactAfterItReturns()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var postgres = await PrivatePostgres.StartAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(upstream.BaseUrl, postgres.Url), url);
            var alerts = new System.Collections.Concurrent.ConcurrentBag<AlertRaised>();
            var handle = broker.Hosts[2].Services.GetRequiredService<IBus>().ConnectReceiveEndpoint("test-db-alerts", e =>
                e.Handler<AlertRaised>(c =>
                {
                    alerts.Add(c.Message);
                    return Task.CompletedTask;
                }));
            await handle.Ready;

            var before = await SendAsync(broker.Http, 0, 200);
            await WaitForLogsAsync(() => postgres.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 200);
            await postgres.StopServerAsync();
            // the gateway keeps serving while the database is down
            var during = await SendAsync(broker.Http, 200, 300);
            await Task.Delay(TimeSpan.FromSeconds(3));
            await postgres.StartServerAsync();
            var after = await SendAsync(broker.Http, 500, 100);

            var expected = before.Concat(during).Concat(after).Sum();
            await WaitForLogsAsync(() => postgres.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 600);
            Assert.Equal(expected, await postgres.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
            Assert.Equal(expected, await postgres.ScalarAsync<decimal>("SELECT sum(cost) FROM broker_spend_logs"));
            // the outage was noticed by the spend writer (and not just waited out)
            Assert.Contains(alerts, a => a.Kind == "db_exceptions");
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Spend_DuplicateDeliveryOfAnEvent_CountedOnce()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml("http://127.0.0.1:9", db.Url));
        await WaitForMigrationAsync(db);
        await db.ExecuteAsync("INSERT INTO broker_keys (token_hash, key_name) VALUES ('kdup', 'sk-...kdup')");
        var bus = broker.Hosts[0].Services.GetRequiredService<IBus>();
        var usage = SpendSamples.Usage(0.125m, key: "kdup");
        var other = SpendSamples.Usage(0.5m, key: "kdup");

        await bus.Publish(usage);
        await bus.Publish(usage);
        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 1);
        await bus.Publish(usage);
        await bus.Publish(other);
        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 2);
        await Task.Delay(1000);

        Assert.Equal(0.625m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'kdup'"));
        Assert.Equal(0.625m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
    }

    [Fact]
    public async Task Budget_KeyCrossesMaxBudget_PublishesOneBudgetAlertAndTotals()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml("http://127.0.0.1:9", db.Url));
        await WaitForMigrationAsync(db);
        await db.ExecuteAsync("INSERT INTO broker_keys (token_hash, key_name, user_id, max_budget) VALUES ('kb', 'sk-...kb', 'ub', 1)");
        var bus = broker.Hosts[0].Services.GetRequiredService<IBus>();
        var alerts = new System.Collections.Concurrent.ConcurrentBag<AlertRaised>();
        var totals = new System.Collections.Concurrent.ConcurrentBag<EntitySpend>();
        var handle = bus.ConnectReceiveEndpoint("test-budget-alerts-" + Guid.NewGuid().ToString("N")[..8], e =>
        {
            e.Handler<AlertRaised>(c =>
            {
                alerts.Add(c.Message);
                return Task.CompletedTask;
            });
            e.Handler<SpendTotalsChanged>(c =>
            {
                foreach (var t in c.Message.Totals)
                {
                    totals.Add(t);
                }

                return Task.CompletedTask;
            });
        });
        await handle.Ready;

        for (var i = 0; i < 12; i++)
        {
            await bus.Publish(SpendSamples.Usage(0.25m, key: "kb", user: "ub"));
            await Task.Delay(50);
        }

        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 12);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (!totals.Any(t => t is { EntityType: "key", EntityId: "kb", Spend: 3m }) && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await Task.Delay(1000);
        var crossed = Assert.Single(alerts, a => a.Data.GetValueOrDefault("event") == "budget_crossed" && a.Data.GetValueOrDefault("token") == "kb");
        Assert.Equal("budget_alerts", crossed.Kind);
        Assert.Equal("ub", crossed.Data["user_id"]);
        Assert.Equal("1", crossed.Data["max_budget"]);
        Assert.True(decimal.Parse(crossed.Data["spend"]!, CultureInfo.InvariantCulture) >= 1m);
        Assert.True(alerts.Count(a => a.Data.GetValueOrDefault("event") == "threshold_crossed" && a.Data.GetValueOrDefault("token") == "kb") <= 1);
        Assert.Contains(totals, t => t is { EntityType: "key", EntityId: "kb", Spend: 3m });
        Assert.Equal(3m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_keys WHERE token_hash = 'kb'"));
    }

    [Fact]
    public async Task Spend_MasterKeyRequestWithUser_RecordsEndUser()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));

        using var chat = await PostAsync(broker.Http, "v1/chat/completions", """{"model":"chat","user":"alice","messages":[{"role":"user","content":"hi"}]}""");
        using var embedding = await PostAsync(broker.Http, "v1/embeddings", """{"model":"embed","user":"bob","input":"text"}""");
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, embedding.StatusCode);

        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 2);
        Assert.Equal("alice", await db.ScalarAsync<string>("SELECT end_user FROM broker_spend_logs WHERE model_group = 'chat'"));
        Assert.Equal("bob", await db.ScalarAsync<string>("SELECT end_user FROM broker_spend_logs WHERE model_group = 'embed'"));
        Assert.Equal(ChatCost, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'end_user' AND entity_id = 'alice'"));
        // still the master key's: no key, user or team
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs WHERE key_hash IS NOT NULL OR user_id IS NOT NULL OR team_id IS NOT NULL"));
    }

    [Fact]
    public async Task Spend_StreamedCompletion_LoggedWithCostAndTimeToFirstToken()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));

        using var response = await PostAsync(broker.Http, "v1/chat/completions", """{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("[DONE]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var callId = Guid.Parse(response.Headers.GetValues("x-litellm-call-id").Single());

        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 1);
        Assert.Equal(ChatCost, await db.ScalarAsync<decimal>($"SELECT cost FROM broker_spend_logs WHERE request_id = '{callId}'"));
        Assert.Equal(1L, await db.ScalarAsync<long>($"SELECT count(*) FROM broker_spend_logs WHERE request_id = '{callId}' AND ttft_ms IS NOT NULL"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Spend_StorePromptsInSpendLogs_KeepsMessagesAndResponseOnlyWhenSet(bool store)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, db.Url).Replace("  proxy_batch_write_at: 0.2", $"  proxy_batch_write_at: 0.2\n  store_prompts_in_spend_logs: {(store ? "true" : "false")}", StringComparison.Ordinal));

        using var response = await PostAsync(broker.Http, "v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"remember this prompt"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await WaitForLogsAsync(() => db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"), 1);
        var messages = await db.ScalarAsync<string>("SELECT messages::text FROM broker_spend_logs");
        var answer = await db.ScalarAsync<string>("SELECT response::text FROM broker_spend_logs");
        if (store)
        {
            Assert.Contains("remember this prompt", messages, StringComparison.Ordinal);
            Assert.Contains("Hello from the fake provider", answer, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(messages);
            Assert.Null(answer);
        }
    }

    [Fact]
    public async Task Completion_KnownPrice_ReturnsResponseCostHeader()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, "").Replace("  database_url: \"\"\n", "", StringComparison.Ordinal));

        using var response = await PostAsync(broker.Http, "v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ChatCost, decimal.Parse(response.Headers.GetValues("x-litellm-response-cost").Single(), CultureInfo.InvariantCulture));
    }

    /// <summary>Sends <paramref name="count"/> requests (every fifth an embedding), 16 at a time; returns each response's cost header.</summary>
    private static async Task<List<decimal>> SendAsync(HttpClient http, int start, int count)
    {
        var costs = new System.Collections.Concurrent.ConcurrentBag<decimal>();
        await Parallel.ForEachAsync(Enumerable.Range(start, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            using var response = i % 5 == 4
                ? await PostAsync(http, "v1/embeddings", $$"""{"model":"embed","input":"text {{i}}"}""")
                : await PostAsync(http, "v1/chat/completions", $$"""{"model":"chat","messages":[{"role":"user","content":"hi {{i}}"}]}""");
            var body = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"request {i}: {(int)response.StatusCode} {body}");
            costs.Add(decimal.Parse(response.Headers.GetValues("x-litellm-response-cost").Single(), CultureInfo.InvariantCulture));
        });
        return [.. costs];
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        return await http.SendAsync(request);
    }

    private static async Task WaitForLogsAsync(Func<Task<long>> count, long expected)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(90);
        long seen = -1;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                seen = await count();
                if (seen >= expected)
                {
                    Assert.Equal(expected, seen);
                    return;
                }
            }
            catch (Npgsql.NpgsqlException)
            {
                // the database is still starting
            }

            await Task.Delay(250);
        }

        Assert.Fail($"spend logs: {seen} of {expected} after 90 s");
    }

    private static async Task WaitForMigrationAsync(TestDatabase db)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (await db.ScalarAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'broker_spend_logs'") == 0 &&
               DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }
}

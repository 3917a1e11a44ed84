using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Alerts;
using Broker.Contracts.Usage;
using Broker.Host.Cli;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Broker.Host.Tests.Billing;

/// <summary>
/// One bad usage event never stops spend accounting (issue #14, item 2), distributed over a real RabbitMQ vhost and
/// PostgreSQL: client text is cleaned before it reaches the database, an event the database still refuses goes to
/// billing.usage-recorded_error with an alert while the rest of its batch is written, and `broker replay-errors`
/// brings it back once the cause is fixed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SpendPoisonTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-poison-master-0001";
    private const string SpendQueue = "billing.usage-recorded";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string Yaml(string upstream, string databaseUrl) => $$"""
        model_list:
          - model_name: chat
            litellm_params: { model: openai/private-chat, api_base: "{{upstream}}/v1", api_key: sk-up }
            model_info: { input_cost_per_token: 0.0000011, output_cost_per_token: 0.0000037 }
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
          proxy_batch_write_at: 0.2
        """;

    private static Task<BrokerRunner> StartAsync(string yaml, Uri vhost, LogCapture? logs = null) =>
        BrokerRunner.StartAsync(yaml, null, vhost, [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])], logs?.Settings);

    [Fact]
    public async Task Spend_NulInUserThenNormalRequests_EveryRowWritten()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await StartAsync(Yaml(upstream.BaseUrl, db.Url), url);
            using var generated = await PostAsync(broker.Http, "key/generate", MasterKey, """{"key_alias":"poison-key"}""");
            var key = JsonNode.Parse(await generated.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();

            using (var poisoned = await PostAsync(broker.Http, "v1/chat/completions", key,
                """{"model":"chat","user":"bad\u0000user","messages":[{"role":"user","content":"hi"}]}"""))
            {
                Assert.Equal(HttpStatusCode.OK, poisoned.StatusCode);
            }

            for (var i = 0; i < 5; i++)
            {
                using var normal = await PostAsync(broker.Http, "v1/chat/completions", key, $$"""{"model":"chat","user":"u{{i}}","messages":[{"role":"user","content":"hi {{i}}"}]}""");
                Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
            }

            await WaitForAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") == 6, "6 spend rows");
            Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs WHERE end_user = 'baduser'"));
            Assert.Equal(5L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs WHERE end_user LIKE 'u_'"));
            Assert.Equal(0u, await ErrorQueueDepthAsync(url));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Spend_EventTheDatabaseRefuses_ErrorQueuedWithAlertRestWrittenReplayedOnceFixed()
    {
        await using var db = await TestDatabase.CreateAsync();
        var logs = LogCapture.Create();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await StartAsync(Yaml("http://127.0.0.1:9", db.Url), url, logs);
            var billing = broker.Hosts[1];
            await WaitForAsync(async () => await db.ScalarAsync<long>(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'broker_spend_logs'") == 1, "the schema");
            // a cause outside the event's control: the database refuses this model group's rows (SQLSTATE 23514)
            await db.ExecuteAsync("ALTER TABLE broker_spend_logs ADD CONSTRAINT test_refuse_poison CHECK (model_group <> 'poison')");
            var alerts = new ConcurrentBag<AlertRaised>();
            var handle = billing.Services.GetRequiredService<IBus>().ConnectReceiveEndpoint("test-poison-alerts", e => e.Handler<AlertRaised>(c =>
            {
                alerts.Add(c.Message);
                return Task.CompletedTask;
            }));
            await handle.Ready;

            var bus = billing.Services.GetRequiredService<IBus>();
            var poison = SpendSamples.Usage(0.5m, key: null) with { ModelGroup = "poison" };
            var good = Enumerable.Range(0, 4).Select(_ => SpendSamples.Usage(0.25m, key: null)).ToList();
            // in one go, so that they share a batch
            await bus.PublishBatch<UsageRecorded>([good[0], good[1], poison, good[2], good[3]]);

            await WaitForAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") == 4, "the 4 good rows");
            await WaitForAsync(async () => await ErrorQueueDepthAsync(url) == 1, "the refused event in billing.usage-recorded_error");
            await WaitForAsync(() => Task.FromResult(alerts.Any(a => a.Kind == "failed_tracking_spend")), "a failed_tracking_spend alert");
            Assert.Equal(1m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
            var alert = alerts.First(a => a.Kind == "failed_tracking_spend");
            Assert.Equal("billing.usage-recorded_error", alert.Data["error_queue"]);
            Assert.Contains("test_refuse_poison", alert.Data["error"], StringComparison.Ordinal);
            Assert.Contains($"Usage event \"{poison.RequestId}\"", logs.All, StringComparison.Ordinal);
            Assert.Contains("billing.usage-recorded_error", logs.All, StringComparison.Ordinal);

            // later events are not held back by the one set aside
            var later = SpendSamples.Usage(0.125m, key: null);
            await bus.Publish(later);
            await WaitForAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") == 5, "a later row");

            // the cause is fixed: replay-errors moves the event back and it is counted once
            await db.ExecuteAsync("ALTER TABLE broker_spend_logs DROP CONSTRAINT test_refuse_poison");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exit = await BrokerCli.InvokeAsync(["replay-errors"], stdout, stderr, name => name == "RABBITMQ_URL" ? url.ToString() : null);

            Assert.True(exit == 0, stderr.ToString());
            Assert.Contains("moved 1 message(s) from billing.usage-recorded_error back to billing.usage-recorded", stdout.ToString(), StringComparison.Ordinal);
            await WaitForAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") == 6, "the replayed row");
            Assert.Equal(1L, await db.ScalarAsync<long>($"SELECT count(*) FROM broker_spend_logs WHERE request_id = '{poison.RequestId}'"));
            Assert.Equal(1.625m, await db.ScalarAsync<decimal>("SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy'"));
            Assert.Equal(0u, await ErrorQueueDepthAsync(url));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Spend_UnreadableMessage_ErrorQueuedWithAlertAndLogLine()
    {
        await using var db = await TestDatabase.CreateAsync();
        var logs = LogCapture.Create();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await StartAsync(Yaml("http://127.0.0.1:9", db.Url), url, logs);
            var billing = broker.Hosts[1];
            var alerts = new ConcurrentBag<AlertRaised>();
            var handle = billing.Services.GetRequiredService<IBus>().ConnectReceiveEndpoint("test-unreadable-alerts", e => e.Handler<AlertRaised>(c =>
            {
                alerts.Add(c.Message);
                return Task.CompletedTask;
            }));
            await handle.Ready;

            // a message MassTransit cannot deserialize, straight into the spend queue
            var factory = new ConnectionFactory { Uri = url };
            await using (var connection = await factory.CreateConnectionAsync())
            await using (var channel = await connection.CreateChannelAsync())
            {
                var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString() };
                await channel.BasicPublishAsync("", SpendQueue, false, properties, Encoding.UTF8.GetBytes("{\"message\": [not json"));
            }

            var good = SpendSamples.Usage(0.25m, key: null);
            await billing.Services.GetRequiredService<IBus>().Publish(good);

            await WaitForAsync(async () => await ErrorQueueDepthAsync(url) == 1, "the unreadable message in billing.usage-recorded_error");
            await WaitForAsync(() => Task.FromResult(alerts.Any(a => a.Kind == "failed_tracking_spend")), "a failed_tracking_spend alert");
            await WaitForAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") == 1, "the good row");
            Assert.Contains("on billing.usage-recorded failed all its retries and was moved to billing.usage-recorded_error", logs.All, StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static async Task<uint> ErrorQueueDepthAsync(Uri vhost)
    {
        var factory = new ConnectionFactory { Uri = vhost };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(SpendQueue + "_error")).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0; // not created yet: nothing has failed
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string key, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"waited {Wait.TotalSeconds} s for {what}");
    }
}

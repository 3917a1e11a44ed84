using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Alerts;

/// <summary>Alerts raised by what happens in a running broker, delivered to a fake webhook (alert_to_webhook_url).</summary>
public sealed class AlertDetectionTests
{
    private static readonly Dictionary<string, string?> FastRetries = new() { ["Alerts:RetryDelayMs"] = "200" };

    [Fact]
    public async Task CompleteChat_ProviderFails_OneLlmExceptionsAlertPerWindow()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, webhook, "llm_exceptions"), settings: FastRetries);

        for (var i = 0; i < 3; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;
        Assert.Equal("llm_exceptions", alert["alert_type"]!.GetValue<string>());
        Assert.Equal("gpt-4o", alert["model_group"]!.GetValue<string>());
        Assert.Equal("up-1", alert["deployment_id"]!.GetValue<string>());
        Assert.Contains("LLM API call failed", alert["event_message"]!.GetValue<string>(), StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Single(webhook.All);
    }

    [Fact]
    public async Task CompleteChat_SlowerThanAlertingThreshold_LlmTooSlowAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(1500);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, webhook, "llm_too_slow", threshold: "1"), settings: FastRetries);

        using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;
        Assert.Equal("llm_too_slow", alert["alert_type"]!.GetValue<string>());
        Assert.Equal("Low", alert["level"]!.GetValue<string>());
        Assert.InRange(double.Parse(alert["latency_seconds"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture), 1.4, 60);
    }

    [Fact]
    public async Task CompleteChat_FastAnswer_NoLlmTooSlowAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, webhook, "llm_too_slow", threshold: "30"), settings: FastRetries);

        for (var i = 0; i < 3; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(webhook.All);
    }

    [Fact]
    public async Task CompleteChat_NoAnswerPastAlertingThreshold_LlmRequestsHangingAlertWhileWaiting()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(12);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, webhook, "llm_requests_hanging", threshold: "1"), settings: FastRetries);

        var pending = broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;

        Assert.False(pending.IsCompleted, "the alert must come while the request is still unanswered");
        Assert.Equal("llm_requests_hanging", alert["alert_type"]!.GetValue<string>());
        Assert.Equal("gpt-4o", alert["model_group"]!.GetValue<string>());
        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(webhook.All);
    }

    [Fact]
    public async Task StreamChat_NoFirstChunkPastAlertingThreshold_LlmRequestsHangingAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(6);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, webhook, "llm_requests_hanging", threshold: "1"), settings: FastRetries);

        var body = new StringContent("""{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}""",
            System.Text.Encoding.UTF8, "application/json");
        var pending = broker.Http.PostAsync("v1/chat/completions", body);
        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;

        Assert.Equal(("llm_requests_hanging", "gpt-4o"), (alert["alert_type"]!.GetValue<string>(), alert["model_group"]!.GetValue<string>()));
        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("[DONE]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(webhook.All);
    }

    [Fact]
    public async Task CompleteChat_DeploymentCooledDown_CooldownDeploymentAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var failing = await FakeUpstream.StartOpenAiAsync();
        await using var healthy = await FakeUpstream.StartOpenAiAsync();
        failing.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        var yaml = $$"""
            model_list:
              - model_name: pair
                litellm_params: {model: openai/m, api_base: "{{failing.BaseUrl}}/v1", api_key: sk-up-1111, order: 1}
                model_info: {id: failing}
              - model_name: pair
                litellm_params: {model: openai/m, api_base: "{{healthy.BaseUrl}}/v1", api_key: sk-up-2222, order: 2}
                model_info: {id: healthy}
            router_settings:
              allowed_fails: 1
              cooldown_time: 60
              num_retries: 0
            general_settings:
              alerting: ["webhook"]
              alert_types: ["cooldown_deployment"]
              alert_to_webhook_url:
                cooldown_deployment: "{{webhook.BaseUrl}}/cooldown"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        // the failing deployment goes first until it is cooled down (allowed_fails within a minute)
        for (var i = 0; i < 10 && failing.Requests.Count < 6 && webhook.Accepted.Count == 0; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("pair"));
        }

        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;
        Assert.Equal("cooldown_deployment", alert["alert_type"]!.GetValue<string>());
        Assert.Equal("failing", alert["deployment_id"]!.GetValue<string>());
        Assert.Equal("pair", alert["model_group"]!.GetValue<string>());
        Assert.Equal("500", alert["status_code"]!.GetValue<string>());
    }

    [Fact]
    public async Task SpendReportFrequency_Elapsed_ReportOfTopKeysAndTeams()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            general_settings:
              database_url: "{{db.Url}}"
              alerting: ["webhook"]
              alerting_args:
                spend_report_frequency: 2s
              alert_to_webhook_url:
                spend_reports: "{{webhook.BaseUrl}}/spend"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);
        // the broker's migrator creates the tables; fill them once it has
        await WaitForTableAsync(db);
        await db.ExecuteAsync("""
            INSERT INTO broker_teams (team_id, team_alias, spend) VALUES ('t-1', 'research', 7.25), ('t-2', 'sales', 1.5);
            INSERT INTO broker_keys (token_hash, key_name, key_alias, team_id, spend) VALUES
              ('h1', 'sk-...0001', 'big-spender', 't-1', 5.5),
              ('h2', 'sk-...0002', NULL, 't-1', 1.75),
              ('h3', 'sk-...0003', 'idle', 't-2', 0);
            """);

        var report = await webhook.WaitForAsync(r => r.Any(x => x.Body.Contains("big-spender", StringComparison.Ordinal)));
        var alert = JsonNode.Parse(report.First(x => x.Body.Contains("big-spender", StringComparison.Ordinal)).Body)!;
        Assert.Equal("spend_reports", alert["alert_type"]!.GetValue<string>());
        Assert.Equal(7.25m, alert["spend"]!.GetValue<decimal>());
        Assert.Equal("big-spender=5.5, sk-...0002=1.75", alert["top_keys"]!.GetValue<string>());
        Assert.Equal("research=7.25, sales=1.5", alert["top_teams"]!.GetValue<string>());
        Assert.Contains("1. big-spender: $5.5", alert["event_message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task WaitForTableAsync(TestDatabase db)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (await db.ScalarAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'broker_keys'") == 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "migrations did not create broker_keys");
            await Task.Delay(200);
        }
    }

    private static string Yaml(FakeUpstream upstream, FakeReceiver webhook, string kind, string? threshold = null) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            model_info: {id: up-1}
        router_settings:
          num_retries: 0
        general_settings:
          alerting: ["webhook"]
          alert_types: ["{{kind}}"]
          {{(threshold is null ? "" : "alerting_threshold: " + threshold)}}
          alert_to_webhook_url:
            {{kind}}: "{{webhook.BaseUrl}}/alerts"
        """;
}

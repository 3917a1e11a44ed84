using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.Host.Tests.Keys;
using Broker.TestKit;

namespace Broker.Host.Tests.Alerts;

/// <summary>
/// LiteLLM's alert types Broker raises besides the request and budget ones: management events (keys, teams, users,
/// models added at run time), outages per deployment and per region, and fallback reports; each delivered to a fake
/// webhook through the real alert path.
/// </summary>
public sealed class LiteLlmAlertTypesTests
{
    private static readonly Dictionary<string, string?> FastRetries = new() { ["Alerts:RetryDelayMs"] = "200" };

    [Fact]
    public async Task ManagementWrites_AlertingWebhook_EachRaisesItsAlertTypeWithoutTheKey()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = KeysApi.Yaml(upstream.BaseUrl, null, extraGeneral: """
              store_model_in_db: true
              alerting: ["webhook"]
            """, extraTop: $$"""
            environment_variables:
              WEBHOOK_URL: "{{webhook.BaseUrl}}/hook"
            """);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);
        var http = broker.Http;
        const string master = KeysApi.MasterKey;

        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "team/new", master, new JsonObject { ["team_id"] = "team-a", ["team_alias"] = "research" })).Status);
        var generated = await KeysApi.PostAsync(http, "key/generate", master, new JsonObject { ["key_alias"] = "ci-key", ["team_id"] = "team-a" });
        Assert.Equal(HttpStatusCode.OK, generated.Status);
        var key = generated.Body!["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "key/update", master, new JsonObject { ["key"] = key, ["max_budget"] = 5 })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "user/new", master, new JsonObject { ["user_id"] = "user-9", ["user_email"] = "nine@example.com" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "user/update", master, new JsonObject { ["user_id"] = "user-9", ["max_budget"] = 3 })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "model/new", master, new JsonObject
        {
            ["model_name"] = "runtime-model",
            ["litellm_params"] = new JsonObject { ["model"] = "openai/gpt-4o", ["api_base"] = upstream.BaseUrl + "/v1", ["api_key"] = "sk-up-secret-9999" },
        })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "key/delete", master, new JsonObject { ["keys"] = new JsonArray(key) })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "user/delete", master, new JsonObject { ["user_ids"] = new JsonArray("user-9") })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "team/update", master, new JsonObject { ["team_id"] = "team-a", ["max_budget"] = 50 })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "team/delete", master, new JsonObject { ["team_ids"] = new JsonArray("team-a") })).Status);
        // a refused write raises nothing
        Assert.NotEqual(HttpStatusCode.OK, (await KeysApi.PostAsync(http, "team/new", null, new JsonObject { ["team_id"] = "team-b" })).Status);

        string[] expected =
        [
            "new_team_created", "new_virtual_key_created", "virtual_key_updated", "new_internal_user_created", "internal_user_updated",
            "new_model_added", "virtual_key_deleted", "internal_user_deleted", "team_updated", "team_deleted",
        ];
        var received = await webhook.WaitForAsync(r => r.Count >= expected.Length);
        var alerts = received.Select(r => JsonNode.Parse(r.Body)!).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), alerts.Select(a => a["alert_type"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(received, r => Assert.DoesNotContain(key, r.Body, StringComparison.Ordinal));
        Assert.All(received, r => Assert.DoesNotContain("sk-up-secret-9999", r.Body, StringComparison.Ordinal));

        var created = alerts.Single(a => a["alert_type"]!.GetValue<string>() == "new_virtual_key_created");
        Assert.Equal(("ci-key", "team-a", "key"), (created["key_alias"]!.GetValue<string>(), created["team_id"]!.GetValue<string>(), created["event_group"]!.GetValue<string>()));
        Assert.Equal("Virtual key created", created["event_message"]!.GetValue<string>());
        var team = alerts.Single(a => a["alert_type"]!.GetValue<string>() == "new_team_created");
        Assert.Equal("research", team["team_alias"]!.GetValue<string>());
        var model = alerts.Single(a => a["alert_type"]!.GetValue<string>() == "new_model_added");
        Assert.Equal("runtime-model", model["model_name"]!.GetValue<string>());
        Assert.Equal("1", alerts.Single(a => a["alert_type"]!.GetValue<string>() == "virtual_key_deleted")["deleted_count"]!.GetValue<string>());

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(expected.Length, webhook.All.Count);
    }

    [Fact]
    public async Task ManagementWrites_AlertTypesWithoutThem_NothingSent()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = KeysApi.Yaml(upstream.BaseUrl, null, extraGeneral: """
              alerting: ["webhook"]
              alert_types: ["llm_exceptions"]
            """, extraTop: $$"""
            environment_variables:
              WEBHOOK_URL: "{{webhook.BaseUrl}}/hook"
            """);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(broker.Http, "team/new", KeysApi.MasterKey, new JsonObject { ["team_id"] = "team-q" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await KeysApi.PostAsync(broker.Http, "key/generate", KeysApi.MasterKey, new JsonObject())).Status);

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(webhook.All);
    }

    [Fact]
    public async Task CompleteChat_ServerErrorsReachThresholds_MinorThenMajorOutageAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
                model_info: {id: up-1}
            router_settings:
              num_retries: 0
              disable_cooldowns: true
            general_settings:
              alerting: ["webhook"]
              alert_types: ["outage_alerts"]
              alerting_args:
                outage_alert_ttl: 600
                minor_outage_alert_threshold: 2
                major_outage_alert_threshold: 4
              alert_to_webhook_url:
                outage_alerts: "{{webhook.BaseUrl}}/outage"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        for (var i = 0; i < 2; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        var minor = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;
        Assert.Equal(("outage_alerts", "minor", "up-1", "2"), (minor["alert_type"]!.GetValue<string>(), minor["severity"]!.GetValue<string>(),
            minor["deployment_id"]!.GetValue<string>(), minor["errors"]!.GetValue<string>()));
        Assert.StartsWith("Minor outage", minor["event_message"]!.GetValue<string>(), StringComparison.Ordinal);

        for (var i = 0; i < 2; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        var alerts = (await webhook.WaitForAsync(r => r.Count >= 2)).Select(r => JsonNode.Parse(r.Body)!).ToList();
        var major = alerts.Single(a => a["severity"]!.GetValue<string>() == "major");
        Assert.Equal(("High", "4"), (major["level"]!.GetValue<string>(), major["errors"]!.GetValue<string>()));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(2, webhook.All.Count);
    }

    [Fact]
    public async Task CompleteChat_BadRequestsOnly_NoOutageAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (400, """{"error":{"message":"bad input","type":"invalid_request_error"}}""", null);
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            router_settings:
              num_retries: 0
            general_settings:
              alerting: ["webhook"]
              alert_types: ["outage_alerts"]
              alerting_args: {minor_outage_alert_threshold: 2}
              alert_to_webhook_url:
                outage_alerts: "{{webhook.BaseUrl}}/outage"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        for (var i = 0; i < 3; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(webhook.All);
    }

    [Fact]
    public async Task CompleteChat_TwoDeploymentsOfOneRegionFail_RegionOutageAlert()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (503, """{"error":{"message":"unavailable","type":"server_error"}}""", null);
        var yaml = $$"""
            model_list:
              - model_name: eu-a
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111, region_name: eu}
                model_info: {id: eu-a-1}
              - model_name: eu-b
                litellm_params: {model: openai/gpt-4o-mini, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111, region_name: eu}
                model_info: {id: eu-b-1}
              - model_name: us-a
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111, region_name: us}
                model_info: {id: us-a-1}
            router_settings:
              num_retries: 0
              disable_cooldowns: true
            general_settings:
              alerting: ["webhook"]
              alert_types: ["region_outage_alerts"]
              alerting_args:
                region_outage_alert_ttl: 600
                minor_outage_alert_threshold: 3
              alert_to_webhook_url:
                region_outage_alerts: "{{webhook.BaseUrl}}/region"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        // three failures in us from one deployment: not a region outage (one deployment)
        foreach (var model in new[] { "us-a", "us-a", "us-a", "eu-a", "eu-a", "eu-b" })
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat(model));
            Assert.True((int)response.StatusCode >= 500, $"{model}: {response.StatusCode}");
        }

        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;
        Assert.Equal(("region_outage_alerts", "eu", "2", "3"), (alert["alert_type"]!.GetValue<string>(), alert["region_name"]!.GetValue<string>(),
            alert["deployments"]!.GetValue<string>(), alert["errors"]!.GetValue<string>()));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(webhook.All);
    }

    [Fact]
    public async Task CompleteChat_AnsweredByFallback_FallbackSuccessReport()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var failing = await FakeUpstream.StartOpenAiAsync();
        failing.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        await using var healthy = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: primary
                litellm_params: {model: openai/gpt-4o, api_base: "{{failing.BaseUrl}}/v1", api_key: sk-up-1111}
              - model_name: backup
                litellm_params: {model: openai/gpt-4o-mini, api_base: "{{healthy.BaseUrl}}/v1", api_key: sk-up-2222}
            router_settings:
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            general_settings:
              alerting: ["webhook"]
              alert_types: ["fallback_reports"]
              alert_to_webhook_url:
                fallback_reports: "{{webhook.BaseUrl}}/fallbacks"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("primary"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var alert = JsonNode.Parse(Assert.Single(await webhook.WaitForAsync(r => r.Count >= 1)).Body)!;
        Assert.Equal(("fallback_reports", "success", "primary", "backup"), (alert["alert_type"]!.GetValue<string>(), alert["outcome"]!.GetValue<string>(),
            alert["original_model_group"]!.GetValue<string>(), alert["fallback_model_group"]!.GetValue<string>()));
        Assert.Equal(response.Headers.GetValues("x-litellm-call-id").Single(), alert["request_id"]!.GetValue<string>());
    }
}

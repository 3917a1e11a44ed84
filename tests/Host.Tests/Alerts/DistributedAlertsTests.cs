using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.EndToEnd;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Alerts;

/// <summary>
/// Alerts and callbacks with Ingress, Workers and Billing as separate processes over the real RabbitMQ (and the real
/// Redis for de-duplication): each role raises what it sees, Billing delivers.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DistributedAlertsTests(RabbitMqFixture rabbit) : IAsyncLifetime, IClassFixture<RabbitMqFixture>
{
    private readonly List<string> _virtualHosts = [];

    [Fact]
    public async Task Requests_FailingAndHanging_BillingDeliversAlertsAndFailureCallback()
    {
        await using var webhook = await FakeReceiver.StartAsync();
        await using var generic = await FakeReceiver.StartAsync();
        await using var failing = await FakeUpstream.StartOpenAiAsync();
        await using var slow = await FakeUpstream.StartOpenAiAsync();
        failing.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        slow.Delay = TimeSpan.FromSeconds(12);
        var yaml = $$"""
            model_list:
              - model_name: broken
                litellm_params: {model: openai/gpt-4o, api_base: "{{failing.BaseUrl}}/v1", api_key: sk-up-1111}
                model_info: {id: broken-1}
              - model_name: slow
                litellm_params: {model: openai/gpt-4o, api_base: "{{slow.BaseUrl}}/v1", api_key: sk-up-2222}
                model_info: {id: slow-1}
            router_settings:
              num_retries: 0
            litellm_settings:
              failure_callback: ["generic"]
            general_settings:
              alerting: ["webhook"]
              alerting_threshold: 2
              alert_types: ["llm_exceptions", "llm_requests_hanging"]
            environment_variables:
              WEBHOOK_URL: "{{webhook.BaseUrl}}/alerts"
              GENERIC_LOGGER_ENDPOINT: "{{generic.BaseUrl}}/logs"
            """;
        var redisUrl = RoutingDistributedTests.RequireRedis();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);
        await using var broker = await BrokerRunner.StartAsync(yaml, null, url,
            [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
            new Dictionary<string, string?> { ["REDIS_URL"] = redisUrl, ["Alerts:RetryDelayMs"] = "200" });

        var pending = broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("slow"));
        for (var i = 0; i < 3; i++)
        {
            using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("broken"));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        var alerts = await webhook.WaitForAsync(r => r.Count >= 2);
        var kinds = alerts.Select(a => JsonNode.Parse(a.Body)!).ToDictionary(a => a["alert_type"]!.GetValue<string>(), a => a);
        Assert.Equal("broken-1", kinds["llm_exceptions"]["deployment_id"]!.GetValue<string>());
        Assert.Equal("slow", kinds["llm_requests_hanging"]["model_group"]!.GetValue<string>());
        Assert.False(pending.IsCompleted, "the hanging alert must come while the request waits");

        var logs = await generic.WaitForAsync(r => r.Count >= 3);
        Assert.All(logs, l => Assert.Equal("failure", JsonNode.Parse(l.Body)!.AsArray().Single()!["status"]!.GetValue<string>()));

        using var slowAnswer = await pending;
        Assert.Equal(HttpStatusCode.OK, slowAnswer.StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(2, webhook.All.Count);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var vhost in _virtualHosts)
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Usage;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Health;

/// <summary>
/// general_settings.background_health_checks end to end: the workers probe every deployment, <c>GET /health</c>
/// shows the results, and routing skips the deployment that failed its check.
/// </summary>
public sealed class BackgroundHealthChecksTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static string Yaml(FakeUpstream good, FakeUpstream bad, string general = "background_health_checks: true\n  health_check_interval: 300") => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_base: "{{good.BaseUrl}}/v1", api_key: sk-test-good-1234}
            model_info: {id: good}
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_base: "{{bad.BaseUrl}}/v1", api_key: sk-test-bad-1234}
            model_info: {id: bad}
          - model_name: solo
            litellm_params: {model: openai/gpt-4o-mini, api_base: "{{bad.BaseUrl}}/v1", api_key: sk-test-bad-1234}
            model_info: {id: solo-bad}
          - model_name: embed
            litellm_params: {model: openai/text-embedding-3-small, api_base: "{{good.BaseUrl}}/v1", api_key: sk-test-good-1234}
            model_info: {id: embed-good, mode: embedding}
          - model_name: control
            litellm_params: {model: openai/gpt-4o, api_base: "{{good.BaseUrl}}/v1", api_key: sk-test-good-1234}
            model_info: {id: control}
          - model_name: images
            litellm_params: {model: openai/dall-e-3, api_base: "{{good.BaseUrl}}/v1", api_key: sk-test-good-1234}
            model_info: {id: images, mode: image_generation}
        router_settings: {timeout: 20, num_retries: 0}
        general_settings:
          {{general}}
        """;

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Health_EmbeddedOneDeploymentFailing_ListedUnhealthyAndRoutingSkipsIt()
    {
        await using var good = await FakeUpstream.StartOpenAiAsync();
        await using var bad = await FakeUpstream.StartOpenAiAsync();
        bad.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(good, bad));

        await AssertHealthShowsBadAsync(broker, good);
        await AssertRoutingSkipsBadAsync(broker, good, bad);

        var metrics = await broker.Http.GetStringAsync("metrics");
        var states = metrics.Split('\n').Where(l => l.StartsWith("litellm_deployment_state{", StringComparison.Ordinal)).ToList();
        Assert.Contains(states, l => l.Contains("model_id=\"bad\"", StringComparison.Ordinal) && l.EndsWith(" 2", StringComparison.Ordinal));
        Assert.Contains(states, l => l.Contains("model_id=\"good\"", StringComparison.Ordinal) && l.EndsWith(" 0", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Health_DistributedWithRedis_IngressShowsWorkerResultsAndRoutingSkipsUnhealthy()
    {
        Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("REDIS_URL")), "REDIS_URL is not set: run scripts/services.sh");
        await using var good = await FakeUpstream.StartOpenAiAsync();
        await using var bad = await FakeUpstream.StartOpenAiAsync();
        bad.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(Yaml(good, bad), url);

            await AssertHealthShowsBadAsync(broker, good);
            await AssertRoutingSkipsBadAsync(broker, good, bad);

            // a second worker replica does not repeat the round within the interval (Redis claims it per group)
            var probesBefore = good.Requests.Count + bad.Requests.Count;
            await broker.StartHostAsync(BrokerRoles.Workers);
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(probesBefore, good.Requests.Count + bad.Requests.Count);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Health_DisableHealthChecks_NoProbeCalls()
    {
        await using var good = await FakeUpstream.StartOpenAiAsync();
        await using var bad = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(good, bad, "disable_health_checks: true"));

        var health = await GetHealthAsync(broker);

        Assert.Equal(0, health["healthy_count"]!.GetValue<int>() + health["unhealthy_count"]!.GetValue<int>());
        Assert.Contains("disabled", health["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(good.Requests);
        Assert.Empty(bad.Requests);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Health_OnDemand_ProbesEachModeThroughItsQueueAndBillsNothing()
    {
        await using var good = await FakeUpstream.StartOpenAiAsync();
        await using var bad = await FakeUpstream.StartOpenAiAsync();
        bad.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(good, bad, "health_check_interval: 300"));
        var usage = new UsageObserver();
        broker.Hosts[0].Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(usage);

        var health = await GetHealthAsync(broker);
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(broker, "control"));

        var healthy = health["healthy_endpoints"]!.AsArray().Select(e => e!["model_id"]!.GetValue<string>()).Order().ToList();
        var unhealthy = health["unhealthy_endpoints"]!.AsArray().Select(e => e!["model_id"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["control", "embed-good", "good"], healthy);
        Assert.Equal(["bad", "solo-bad"], unhealthy);
        // the embedding deployment got an embedding, never a chat; the image deployment was not called at all
        Assert.Contains(good.Requests, r => r.Path.EndsWith("/embeddings", StringComparison.Ordinal) && r.Body["model"]!.GetValue<string>() == "text-embedding-3-small");
        Assert.DoesNotContain(good.Requests, r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal) && r.Body["model"]!.GetValue<string>() == "text-embedding-3-small");
        Assert.DoesNotContain(good.Requests, r => r.Body["model"]?.GetValue<string>() == "dall-e-3");
        // only the real request is billed: its usage event arrives, and none of the probes' did
        Assert.True(await EventuallyAsync(() => !usage.Seen.IsEmpty), "the real request's usage event never came");
        await Task.Delay(500);
        // (each of Billing's usage consumers sees the event once)
        Assert.Equal("control", Assert.Single(usage.Seen.DistinctBy(u => u.RequestId)).ModelGroup);
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        return condition();
    }

    private static async Task AssertHealthShowsBadAsync(BrokerRunner broker, FakeUpstream good)
    {
        JsonObject health = [];
        for (var i = 0; i < 300; i++)
        {
            health = await GetHealthAsync(broker);
            if (health["healthy_count"]!.GetValue<int>() + health["unhealthy_count"]!.GetValue<int>() == 5)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(3, health["healthy_count"]!.GetValue<int>());
        Assert.Equal(2, health["unhealthy_count"]!.GetValue<int>());
        var unhealthy = health["unhealthy_endpoints"]!.AsArray().Select(e => e!["model_id"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["bad", "solo-bad"], unhealthy);
        Assert.Contains("upstream exploded", health["unhealthy_endpoints"]![0]!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var healthy = health["healthy_endpoints"]!.AsArray().Select(e => e!["model_id"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["control", "embed-good", "good"], healthy);
        // one cheap call each: max_tokens 1 for chat, a one-input embedding for mode: embedding
        Assert.Contains(good.Requests, r => r.Path.EndsWith("/embeddings", StringComparison.Ordinal) && r.Body["input"]!.AsArray().Count == 1);
        Assert.Contains(good.Requests, r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal) && r.Body["max_tokens"]!.GetValue<int>() == 1);
    }

    private static async Task AssertRoutingSkipsBadAsync(BrokerRunner broker, FakeUpstream good, FakeUpstream bad)
    {
        // the bad deployment recovers, but its last check failed: routing keeps away from it until the next round
        bad.Failure = null;
        good.ResetStats();
        bad.ResetStats();
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await ChatAsync(broker, "gpt-4o"));
        }

        Assert.Equal(12, good.Requests.Count);
        Assert.Empty(bad.Requests);

        // every deployment of the group unhealthy: tried anyway rather than failing everything
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(broker, "solo"));
        Assert.Single(bad.Requests);
    }

    private static async Task<JsonObject> GetHealthAsync(BrokerRunner broker)
    {
        using var response = await broker.Http.GetAsync("health");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<HttpStatusCode> ChatAsync(BrokerRunner broker, string model)
    {
        using var content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await broker.Http.PostAsync("v1/chat/completions", content);
        return response.StatusCode;
    }

    /// <summary>Every usage event Billing consumes.</summary>
    private sealed class UsageObserver : IConsumeMessageObserver<UsageRecorded>
    {
        public System.Collections.Concurrent.ConcurrentQueue<UsageRecorded> Seen { get; } = new();

        public Task PreConsume(ConsumeContext<UsageRecorded> context)
        {
            Seen.Enqueue(context.Message);
            return Task.CompletedTask;
        }

        public Task PostConsume(ConsumeContext<UsageRecorded> context) => Task.CompletedTask;

        public Task ConsumeFault(ConsumeContext<UsageRecorded> context, Exception exception) => Task.CompletedTask;
    }
}

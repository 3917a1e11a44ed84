using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Routing state when Redis is away: every role in one process keeps serving on its own state.</summary>
public sealed class RoutingEmbeddedTests
{
    private const string Yaml = """
        model_list:
          - model_name: m
            litellm_params: {model: openai/m, mock_response: "from mock a"}
            model_info: {id: a}
          - model_name: m
            litellm_params: {model: openai/m, mock_response: "from mock b"}
            model_info: {id: b}
        router_settings:
          routing_strategy: least-busy
          redis_host: 127.0.0.1
          redis_port: 1
        general_settings:
          master_key: sk-routing-master-1234
        """;

    [Fact]
    public async Task CompleteChat_RedisUnreachable_RequestsStillSucceedQuickly()
    {
        // router_settings.redis_host points at a port where nothing listens
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml);

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++)
        {
            using var response = await broker.Http.SendAsync(RoutingDistributedTests.Chat("m"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"20 requests took {watch.Elapsed}");
        using var list = await broker.Http.SendAsync(RoutingDistributedTests.Admin(HttpMethod.Get, "cooldowns"));
        var body = JsonNode.Parse(await list.Content.ReadAsStringAsync())!;
        Assert.Equal("local", body["shared_state"]!.GetValue<string>());
        Assert.Empty(body["cooldowns"]!.AsArray());

        using var readiness = await broker.Http.GetAsync("health/readiness");
        var ready = JsonNode.Parse(await readiness.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, readiness.StatusCode);
        Assert.Equal("degraded", ready["status"]!.GetValue<string>());
        Assert.Equal("degraded", ready["checks"]!["redis"]!.GetValue<string>());
        Assert.Equal("connected", ready["bus"]!.GetValue<string>());
    }
}

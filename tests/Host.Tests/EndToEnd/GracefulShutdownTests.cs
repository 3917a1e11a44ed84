using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// Graceful shutdown over RabbitMQ: a stopping worker stops consuming and finishes the request it holds (nothing is
/// redelivered); a stopping Ingress drains its open streams before its bus stops; readiness reports bus, db and cache.
/// </summary>
public sealed class GracefulShutdownTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static string Yaml(FakeUpstream upstream) => $$"""
        model_list:
          - model_name: slow
            litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-test-1234}
        router_settings: {timeout: 60}
        """;

    [Fact]
    [Trait("Category", "Integration")]
    public async Task StopWorker_RequestInFlight_CompletesAndIsNotRedelivered()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(3);
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])]);
            var worker = broker.Hosts[0];
            using var content = new StringContent("""{"model":"slow","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
            var answer = broker.Http.PostAsync("v1/chat/completions", content);
            await WaitUntilAsync(() => upstream.Requests.Count == 1, "the request reached the provider");

            // a second worker is ready to take anything the first one gives back
            await broker.StartHostAsync(BrokerRoles.Workers);
            await broker.StopHostAsync(worker);

            using var response = await answer;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            Assert.Equal("Hello from the fake provider", JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.Single(upstream.Requests);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task StopIngress_StreamOpen_StreamFinishesBeforeTheBusStops()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.ReplyText = "one two three four five six seven eight";
        upstream.ChunkDelay = TimeSpan.FromMilliseconds(400);
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])]);
            var ingress = broker.Hosts[1];
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent("""{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            using var response = await broker.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(body);
            var received = new StringBuilder();
            while (!received.ToString().Contains("one", StringComparison.Ordinal))
            {
                received.AppendLine(await reader.ReadLineAsync());
            }

            var stopping = broker.StopHostAsync(ingress);
            var probe = HttpStatusCode.OK;
            for (var i = 0; i < 100 && probe != HttpStatusCode.ServiceUnavailable; i++)
            {
                probe = await ProbeAsync(broker.BaseUrl);
            }

            // while it drains, the load balancer is told to go elsewhere (Kestrel still answers)
            Assert.Equal(HttpStatusCode.ServiceUnavailable, probe);
            received.Append(await reader.ReadToEndAsync());
            await stopping;

            var text = received.ToString();
            Assert.Contains("data: [DONE]", text, StringComparison.Ordinal);
            Assert.Equal(upstream.ReplyText, Caching.CacheCalls.StreamedText(text));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Readiness_CacheAndBus_ReportedWithDatabase()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream) + "\nlitellm_settings: {cache: true, cache_params: {type: local}}\n");

        using var response = await broker.Http.GetAsync("health/readiness");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", body["status"]!.GetValue<string>());
        Assert.Equal("connected", body["bus"]!.GetValue<string>());
        Assert.Equal("connected", body["cache"]!.GetValue<string>());
        // no database_url: the embedded SQLite store
        Assert.Equal("connected", body["db"]!.GetValue<string>());
        Assert.Equal("healthy", body["checks"]!["cache"]!.GetValue<string>());
    }

    private static async Task<HttpStatusCode> ProbeAsync(string baseUrl)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(baseUrl + "/health/liveliness");
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), what);
    }
}

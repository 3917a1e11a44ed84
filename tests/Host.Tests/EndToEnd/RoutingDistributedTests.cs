using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Limits and cooldowns held across two worker processes over the real RabbitMQ and Redis.</summary>
[Trait("Category", "Integration")]
public sealed class RoutingDistributedTests(RabbitMqFixture rabbit) : IAsyncLifetime, IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-routing-master-1234";
    private readonly List<string> _virtualHosts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var vhost in _virtualHosts)
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task CompleteChat_RpmLimitWithTwoWorkers_HoldsAcrossProcesses()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: limited
                litellm_params: {model: openai/m, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111, rpm: 4}
                model_info: {id: only}
            general_settings:
              master_key: {{MasterKey}}
              disable_retry_on_max_parallel_request_limit_error: true
            """;
        await using var broker = await StartTwoWorkersAsync(yaml);
        await WaitForFreshMinute();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var response = await broker.Http.SendAsync(Chat("limited"));
            return response.StatusCode;
        }));

        Assert.Equal(4, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(8, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(4, upstream.Requests.Count);
    }

    [Fact]
    public async Task CompleteChat_ServerErrorsPastAllowedFails_CooledDownInBothWorkers()
    {
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
              allowed_fails: 2
              cooldown_time: 60
              num_retries: 0
            general_settings:
              master_key: {{MasterKey}}
            """;
        await using var broker = await StartTwoWorkersAsync(yaml);

        // order 1 takes every request until it has failed 3 times (> allowed_fails), across both workers
        for (var i = 0; i < 3; i++)
        {
            using var failed = await broker.Http.SendAsync(Chat("pair"));
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        // the worker records the outcome just after it replies: give it a moment
        JsonNode body;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            using var list = await broker.Http.SendAsync(Admin(HttpMethod.Get, "cooldowns"));
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            body = JsonNode.Parse(await list.Content.ReadAsStringAsync())!;
        }
        while (body["cooldowns"]!.AsArray().Count == 0 && waited.Elapsed < TimeSpan.FromSeconds(3) && await Delay());

        var cooldown = Assert.Single(body["cooldowns"]!.AsArray())!;
        Assert.Equal(("pair", "failing"), (cooldown["model_group"]!.GetValue<string>(), cooldown["deployment_id"]!.GetValue<string>()));
        Assert.InRange(cooldown["remaining_seconds"]!.GetValue<double>(), 30, 60);
        Assert.Equal("redis", body["shared_state"]!.GetValue<string>());

        // both workers consume the queue; none of them sends to the cooled-down deployment any more
        var failedSoFar = failing.Requests.Count;
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var response = await broker.Http.SendAsync(Chat("pair"));
            return (response.StatusCode, Id: response.Headers.GetValues("x-litellm-model-id").Single());
        }));
        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, "healthy"), a));
        Assert.Equal(failedSoFar, failing.Requests.Count);
    }

    [Fact]
    public async Task ListCooldowns_WithoutMasterKey_Returns401()
    {
        var yaml = $$"""
            model_list:
              - model_name: m
                litellm_params: {model: openai/m, mock_response: hi}
            general_settings:
              master_key: {{MasterKey}}
            """;
        await using var broker = await StartTwoWorkersAsync(yaml);

        using var response = await broker.Http.GetAsync("cooldowns");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(50);
        return true;
    }

    private async Task<BrokerRunner> StartTwoWorkersAsync(string yaml)
    {
        var redisUrl = RequireRedis();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        _virtualHosts.Add(vhost);
        return await BrokerRunner.StartAsync(yaml, null, url,
            [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])],
            new Dictionary<string, string?> { ["REDIS_URL"] = redisUrl });
    }

    /// <summary>REDIS_URL, answering; else the test fails saying how to start Redis (never a skip).</summary>
    internal static string RequireRedis()
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            Assert.Fail("REDIS_URL is not set: run ./test.sh, or `eval \"$(scripts/services.sh)\"` before `dotnet test` (it starts Redis on 127.0.0.1:6379).");
        }

        var hostPort = url.Contains("://", StringComparison.Ordinal) ? new Uri(url).Authority.Split('@')[^1] : url.Split(',')[0];
        var colon = hostPort.LastIndexOf(':');
        try
        {
            using var client = new TcpClient();
            client.Connect(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (SocketException ex)
        {
            Assert.Fail($"Redis at {hostPort} (REDIS_URL) does not answer ({ex.Message}): run scripts/services.sh to start it.");
        }

        return url;
    }

    internal static HttpRequestMessage Chat(string model) => Admin(HttpMethod.Post, "v1/chat/completions",
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");

    internal static HttpRequestMessage Admin(HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MasterKey);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    /// <summary>rpm is counted per calendar minute: keep a test's requests inside one.</summary>
    internal static async Task WaitForFreshMinute()
    {
        var second = TimeProvider.System.GetUtcNow().Second;
        if (second >= 50)
        {
            await Task.Delay(TimeSpan.FromSeconds(61 - second));
        }
    }
}

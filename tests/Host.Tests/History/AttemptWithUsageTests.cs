using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.Contracts.Usage;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Broker.Workers.Inference;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.History;

/// <summary>
/// The attempt that answers travels inside its <see cref="UsageRecorded"/> (one event less per request), unless
/// <c>Workers:AttemptWithUsage</c> is false (Workers beside Billing of an earlier release); Billing reads both forms.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AttemptWithUsageTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-attempt-usage-master-0001";

    private static string Yaml(FakeUpstream upstream, string databaseUrl) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up }
            model_info: { id: only-deployment }
        router_settings:
          timeout: 30
          num_retries: 1
          retry_after: 0
        general_settings:
          master_key: {{MasterKey}}
          database_url: "{{databaseUrl}}"
          proxy_batch_write_at: 0.2
        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CompleteChat_AttemptWithUsageSetting_AnsweringAttemptTravelsInUsageOrApart(bool withUsage)
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream, db.Url),
            settings: new Dictionary<string, string?> { [AttemptReporting.WithUsageSetting] = withUsage ? "true" : "false" });
        var usage = new Observed<UsageRecorded>();
        var attempts = new Observed<InferenceAttempted>();
        var bus = broker.Hosts[0].Services.GetRequiredService<IBus>();
        bus.ConnectConsumeMessageObserver(usage);
        bus.ConnectConsumeMessageObserver(attempts);

        var (status, callId) = await ChatAsync(broker.Http);

        Assert.Equal(HttpStatusCode.OK, status);
        var requestId = Guid.Parse(callId);
        Assert.True(await EventuallyAsync(() => usage.Seen.Any(u => u.RequestId == requestId)
            && (withUsage || attempts.Seen.Any(a => a.RequestId == requestId))), "the request's events never came");
        var carried = usage.Seen.First(u => u.RequestId == requestId).Attempt;
        if (withUsage)
        {
            Assert.NotNull(carried);
            Assert.Equal(1, carried.Attempt);
            Assert.Equal(200, carried.StatusCode);
            Assert.Equal("only-deployment", carried.DeploymentId);
            Assert.Equal("gpt-4o", carried.ModelGroup);
            // the same wait that lets the separate event of the other case arrive
            await Task.Delay(500);
            Assert.DoesNotContain(attempts.Seen, a => a.RequestId == requestId);
        }
        else
        {
            Assert.Null(carried);
            Assert.Equal(200, Assert.Single(attempts.Seen, a => a.RequestId == requestId).StatusCode);
        }

        // either way the history has the attempt, once
        var history = await WaitForHistoryAsync(broker.Http, callId, 1);
        var only = Assert.Single(history["attempts"]!.AsArray())!;
        Assert.Equal("success", only["status"]!.GetValue<string>());
        Assert.Equal("only-deployment", only["deployment_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task GetRequest_WorkersReportAttemptsApartDistributed_BillingShowsBothAttempts()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Failure = (500, """{"error":{"message":"upstream broke","type":"server_error"}}""", null);
        upstream.OnlyFirstRequests = 1;
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            // Workers as an earlier release reports (every attempt on its own), Billing of this one
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream, db.Url), null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { [AttemptReporting.WithUsageSetting] = "false" });

            var (status, callId) = await ChatAsync(broker.Http);

            Assert.Equal(HttpStatusCode.OK, status);
            var history = await WaitForHistoryAsync(broker.Http, callId, 2);
            var attempts = history["attempts"]!.AsArray();
            Assert.Equal(["failure", "success"], attempts.Select(a => a!["status"]!.GetValue<string>()));
            Assert.Equal([1, 2], attempts.Select(a => a!["attempt"]!.GetValue<int>()));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static async Task<(HttpStatusCode Status, string CallId)> ChatAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Headers.GetValues("x-litellm-call-id").Single());
    }

    /// <summary>GET /request/{id} until it lists <paramref name="attempts"/> attempts (20 s at most).</summary>
    private static async Task<JsonNode> WaitForHistoryAsync(HttpClient http, string callId, int attempts)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"request/{callId}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
            using var response = await http.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                last = JsonNode.Parse(await response.Content.ReadAsStringAsync());
                if (last?["attempts"]?.AsArray().Count >= attempts)
                {
                    return last;
                }
            }

            await Task.Delay(100);
        }

        Assert.Fail($"the history of {callId} never listed {attempts} attempt(s); last: {last?.ToJsonString() ?? "none"}");
        return null!;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return condition();
    }

    /// <summary>Every message of type <typeparamref name="T"/> a consumer of this host takes.</summary>
    private sealed class Observed<T> : IConsumeMessageObserver<T>
        where T : class
    {
        public ConcurrentQueue<T> Seen { get; } = new();

        public Task PreConsume(ConsumeContext<T> context)
        {
            Seen.Enqueue(context.Message);
            return Task.CompletedTask;
        }

        public Task PostConsume(ConsumeContext<T> context) => Task.CompletedTask;

        public Task ConsumeFault(ConsumeContext<T> context, Exception exception) => Task.CompletedTask;
    }
}

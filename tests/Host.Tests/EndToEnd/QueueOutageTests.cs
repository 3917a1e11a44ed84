using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// The Ingress loses its RabbitMQ connection while it runs (a network fault between them, injected with a TCP
/// proxy): live requests get a quick 503 in OpenAI's shape instead of hanging, and the Ingress serves again once
/// the connection is back.
/// </summary>
[Trait("Category", "Integration")]
public sealed class QueueOutageTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Request_IngressCutOffFromRabbitMq_Quick503ThenServesAgain()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // Redis, where the workers keep the answers of requests sent with an Idempotency-Key for their repeats
        var redis = Environment.GetEnvironmentVariable("REDIS_URL");
        Assert.False(string.IsNullOrEmpty(redis), "REDIS_URL is not set: run eval \"$(scripts/services.sh)\" first");
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        await using var proxy = TcpProxy.Start(url.Host, url.Port);
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url, [(BrokerRoles.Workers | BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?> { ["REDIS_URL"] = redis, ["Redis:KeyPrefix"] = $"broker-test-{Guid.NewGuid():N}" });
            using var http = await ProxiedIngressAsync(broker, url, proxy);
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(http, stream: false)).Status);

            // requests in flight when the connection drops (one plain, one streamed, each with an Idempotency-Key): their
            // answers cannot come back, so they end at once (the provider holds them until then, so they are surely in
            // flight at the cut)
            var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            upstream.HoldAnswer = (call, aborted) => call is 2 or 3 ? answered.Task.WaitAsync(aborted) : Task.CompletedTask;
            string key = Guid.NewGuid().ToString(), streamKey = Guid.NewGuid().ToString();
            var inFlight = ChatAsync(http, stream: false, key);
            var inFlightStream = ChatAsync(http, stream: true, streamKey);
            while (upstream.Requests.Count < 3)
            {
                await Task.Delay(20);
            }

            proxy.Cut();
            var watch = Stopwatch.StartNew();
            var lost = await inFlight;
            var lostAfter = watch.Elapsed;
            var lostStream = await inFlightStream;
            answered.SetResult();
            // the stream's answer is lost before its first token: a 502 (or, after keep-alive comments, the same error as an event)
            Assert.Contains(lostStream.Status, new[] { HttpStatusCode.BadGateway, HttpStatusCode.OK });
            Assert.Contains("\"answer_lost\"", lostStream.Body.ToJsonString() + lostStream.Body["text"], StringComparison.Ordinal);
            Assert.NotNull(lost.CallId);
            Assert.NotNull(lostStream.CallId);
            // it was queued and its provider call runs on: not the safe-to-retry 503 queue_unavailable, but a 502 saying so
            Assert.Equal(HttpStatusCode.BadGateway, lost.Status);
            Assert.Equal("answer_lost", lost.Body["error"]!["code"]!.GetValue<string>());
            Assert.Contains("may still run", lost.Body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.True(lostAfter < TimeSpan.FromSeconds(30), $"the request in flight waited {lostAfter.TotalSeconds:0.0} s after the cut (timeout 60 s)");

            watch.Restart();
            var cut = await ChatAsync(http, stream: false);
            var cutStream = await ChatAsync(http, stream: true);
            var waited = watch.Elapsed;

            Assert.Equal(HttpStatusCode.ServiceUnavailable, cut.Status);
            Assert.Equal("queue_unavailable", cut.Body["error"]!["code"]!.GetValue<string>());
            Assert.Equal("api_error", cut.Body["error"]!["type"]!.GetValue<string>());
            Assert.NotNull(cut.RetryAfter);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, cutStream.Status);
            Assert.Equal("queue_unavailable", cutStream.Body["error"]!["code"]!.GetValue<string>());
            // about 2 s each (Ingress:QueueSendTimeoutSeconds); a request that waited for its answer would take the 60 s timeout
            Assert.True(waited < TimeSpan.FromSeconds(30), $"two requests took {waited.TotalSeconds:0.0} s while the queue was cut off");
            // the other Ingress, still connected, never noticed
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, stream: false)).Status);

            proxy.Restore();
            var back = Stopwatch.StartNew();
            HttpStatusCode status;
            do
            {
                await Task.Delay(500);
                status = (await ChatAsync(http, stream: false)).Status;
            }
            while (status != HttpStatusCode.OK && back.Elapsed < TimeSpan.FromSeconds(60));

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(http, stream: true)).Status);

            // the lost requests ran (the provider answered once the test let it): a repeat under the same key calls no
            // provider (a retry must not pay twice): each gets the answer its worker kept, the stream replayed whole
            var calls = upstream.Requests.Count;
            var repeatPlain = await ChatAsync(http, stream: false, key);
            Assert.True(repeatPlain.Status == HttpStatusCode.OK, $"{repeatPlain.Status} {repeatPlain.Body.ToJsonString()}");
            Assert.Equal(lost.CallId, repeatPlain.CallId);
            Assert.Equal("chat.completion", repeatPlain.Body["object"]!.GetValue<string>());
            var repeatStream = await ChatAsync(http, stream: true, streamKey);
            Assert.True(repeatStream.Status == HttpStatusCode.OK, $"{repeatStream.Status} {repeatStream.Body.ToJsonString()}");
            Assert.Equal(lostStream.CallId, repeatStream.CallId);
            var replayed = repeatStream.Body["text"]!.GetValue<string>();
            Assert.Contains("chat.completion.chunk", replayed, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", replayed, StringComparison.Ordinal);

            Assert.Equal(calls, upstream.Requests.Count);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    /// <summary>
    /// RabbitMQ takes the command but its confirm never reaches the Ingress (the connection hangs): the command is in
    /// the queue and runs, so the client must not be told 503 <c>queue_unavailable</c> ("not queued, safe to retry"):
    /// a retry would pay twice. It gets 502 <c>answer_lost</c>.
    /// </summary>
    [Fact]
    public async Task Request_ConfirmNeverArrives_502AnswerLostAndTheCommandRuns()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        await using var proxy = TcpProxy.Start(url.Host, url.Port);
        try
        {
            await using var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url, [(BrokerRoles.Workers | BrokerRoles.Billing, [])]);
            using var http = await ProxiedIngressAsync(broker, url, proxy);
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(http, stream: false)).Status);
            var calls = upstream.Requests.Count;

            // what the Ingress sends still reaches RabbitMQ; nothing comes back (no confirm, no answer) for a while
            proxy.Stall();
            var unconfirmed = await ChatAsync(http, stream: false);
            var ran = Stopwatch.StartNew();
            while (upstream.Requests.Count == calls && ran.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }

            proxy.Restore();

            Assert.Equal(calls + 1, upstream.Requests.Count);
            Assert.Equal(HttpStatusCode.BadGateway, unconfirmed.Status);
            Assert.Equal("answer_lost", unconfirmed.Body["error"]!["code"]!.GetValue<string>());
            Assert.Contains("may still run", unconfirmed.Body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Null(unconfirmed.RetryAfter);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Readiness_IngressCutOffFromRabbitMq_503UntilTheBusIsBack()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        await using var proxy = TcpProxy.Start(url.Host, url.Port);
        try
        {
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: gpt-4o
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
                """, null, url, [(BrokerRoles.Workers, [])]);
            var proxied = new UriBuilder(url) { Port = proxy.Port }.Uri;
            var ingress = await broker.AddHostAsync(BrokerRoles.Ingress, proxied);
            using var http = new HttpClient { BaseAddress = new Uri(BrokerApp.Addresses(ingress)[0] + "/"), Timeout = TimeSpan.FromSeconds(30) };
            var (status, body) = await ReadinessAsync(http);
            Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
            Assert.Equal("connected", body["bus"]!.GetValue<string>());

            // the load balancer must stop sending here: no request can be carried while the bus is away
            proxy.Cut();
            (status, body) = await ReadinessUntilAsync(http, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
            Assert.True(status == HttpStatusCode.ServiceUnavailable, body.ToJsonString());
            Assert.Equal("unhealthy", body["status"]!.GetValue<string>());
            Assert.Equal("disconnected", body["bus"]!.GetValue<string>());
            // and it stays so while the connection is down, not only at the moment it dropped
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadinessAsync(http)).Status);

            proxy.Restore();
            (status, body) = await ReadinessUntilAsync(http, HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
            // ready as soon as answers can come back; endpoints that carry no request may still be reconnecting
            Assert.Contains(body["bus"]!.GetValue<string>(), new[] { "connected", "degraded" });
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(http, stream: false)).Status);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> ReadinessAsync(HttpClient http)
    {
        using var response = await http.GetAsync("health/readiness");
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> ReadinessUntilAsync(HttpClient http, HttpStatusCode wanted, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var (status, body) = await ReadinessAsync(http);
            if (status == wanted || watch.Elapsed > timeout)
            {
                return (status, body);
            }

            await Task.Delay(200);
        }
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body, TimeSpan? RetryAfter, string? CallId)> ChatAsync(
        HttpClient http, bool stream, string? idempotencyKey = null)
    {
        var body = stream
            ? """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"""
            : """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonNode.Parse(text)! : new JsonObject { ["text"] = text };
        var callId = response.Headers.TryGetValues("x-litellm-call-id", out var ids) ? ids.First() : null;
        return (response.StatusCode, json, response.Headers.RetryAfter?.Delta, callId);
    }

    private static string Yaml(FakeUpstream upstream) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
        router_settings:
          timeout: 60
        """;

    /// <summary>One more Ingress whose RabbitMQ connection goes through <paramref name="proxy"/> (2 s send timeout); a client for it.</summary>
    private static async Task<HttpClient> ProxiedIngressAsync(BrokerRunner broker, Uri rabbitMq, TcpProxy proxy)
    {
        var proxied = new UriBuilder(rabbitMq) { Port = proxy.Port }.Uri;
        var ingress = await broker.AddHostAsync(BrokerRoles.Ingress, proxied,
            settings: new Dictionary<string, string?> { ["Ingress:QueueSendTimeoutSeconds"] = "2" });
        return new HttpClient { BaseAddress = new Uri(BrokerApp.Addresses(ingress)[0] + "/"), Timeout = TimeSpan.FromSeconds(90) };
    }
}

using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Broker.Workers.Retries;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>Retries and fallbacks through the retry saga, against fake providers that fail on command.</summary>
public abstract class RetriesTestsBase : IAsyncLifetime
{
    protected const string MasterKey = "sk-retries-master-0001";

    private readonly List<FakeUpstream> _fakes = [];

    protected abstract Task<BrokerRunner> StartBrokerAsync(string yaml);

    /// <summary>Like <see cref="StartBrokerAsync"/>, with exactly one worker process (its concurrency is the group's).</summary>
    protected virtual Task<BrokerRunner> StartOneWorkerAsync(string yaml) => StartBrokerAsync(yaml);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var fake in _fakes)
        {
            await fake.DisposeAsync();
        }
    }

    protected async Task<FakeUpstream> Fake()
    {
        var fake = await FakeUpstream.StartOpenAiAsync();
        _fakes.Add(fake);
        return fake;
    }

    protected static string Deployment(string group, string id, FakeUpstream fake, string extra = "") =>
        $"  - model_name: {group}\n" +
        $"    litellm_params: {{model: openai/{id}, api_base: \"{fake.BaseUrl}/v1\", api_key: sk-up-{id}{extra}}}\n" +
        $"    model_info: {{id: {id}}}\n";

    /// <summary>A config with these model_list entries and router_settings lines (each written with two leading spaces).</summary>
    protected static string Config(string deployments, string routerSettings = "") =>
        "model_list:\n" + deployments +
        "router_settings:\n  timeout: 30\n" + string.Join("", routerSettings.Split('\n').Where(l => l.Trim().Length > 0).Select(l => "  " + l.Trim() + "\n")) +
        $"general_settings:\n  master_key: {MasterKey}\n";

    [Fact]
    public async Task CompleteChat_RateLimitWithRetryAfter_RetriedOnAnotherDeployment()
    {
        var limited = await Fake();
        var healthy = await Fake();
        limited.Failure = (429, """{"error":{"message":"slow down","type":"rate_limit_error"}}""", new Dictionary<string, string> { ["Retry-After"] = "30" });
        await using var broker = await StartBrokerAsync(Config(
            Deployment("pair", "limited", limited, ", order: 1") + Deployment("pair", "healthy", healthy, ", order: 2")));

        var watch = Stopwatch.StartNew();
        using var response = await broker.Http.SendAsync(Chat("pair"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", Header(response, "x-litellm-model-id"));
        Assert.Equal("1", Header(response, "x-litellm-attempted-retries"));
        Assert.Equal("0", Header(response, "x-litellm-attempted-fallbacks"));
        Assert.Single(limited.Requests);
        Assert.Single(healthy.Requests);
        // another deployment was free: its Retry-After (30 s) did not hold the retry back
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task CompleteChat_RetryWaitingOutRetryAfter_DoesNotHoldTheGroupsOnlySlot()
    {
        var solo = await Fake();
        solo.Failure = (429, """{"error":{"message":"slow down","type":"rate_limit_error"}}""", new Dictionary<string, string> { ["Retry-After"] = "8" });
        solo.OnlyFirstRequests = 1;
        // each answer names the provider call it came from
        solo.ReplyTextFor = (call, _) => $"call {call}";
        // one request at a time in the group; no cooldown for one 429
        await using var broker = await StartOneWorkerAsync(Config(Deployment("solo", "s1", solo, ", max_parallel_requests: 1"), "allowed_fails: 5"));

        var watch = Stopwatch.StartNew();
        var waiting = broker.Http.SendAsync(Chat("solo"));
        while (solo.Requests.Count < 1)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the first attempt never reached the provider");
            await Task.Delay(20);
        }

        // the retry is due in 8 s; meanwhile the group's one slot serves another request
        using var served = await broker.Http.SendAsync(Chat("solo"));
        using var retried = await waiting;

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        // it reached the provider before the retry did: a slot held through the backoff would have made it call 3
        var servedText = JsonNode.Parse(await served.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        Assert.True(servedText == "call 2", $"the other request was {servedText}: it waited behind a retry's backoff");
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal("1", Header(retried, "x-litellm-attempted-retries"));
        // and the retry still waited its Retry-After
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(7.9), $"retried after {watch.Elapsed.TotalSeconds:0.0} s, before Retry-After (8 s)");
        Assert.Equal(3, solo.Requests.Count);
    }

    [Fact]
    public async Task CompleteChat_ContextWindowError_UsesContextWindowFallbackNotGeneral()
    {
        var small = await Fake();
        var large = await Fake();
        var general = await Fake();
        small.Failure = (400, """{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("small", "s1", small) + Deployment("large", "l1", large) + Deployment("general", "g1", general),
            """
              context_window_fallbacks: [{small: [large]}]
              fallbacks: [{small: [general]}]
            """));

        using var response = await broker.Http.SendAsync(Chat("small"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("large", Header(response, "x-litellm-model-group"));
        Assert.Equal("l1", Header(response, "x-litellm-model-id"));
        Assert.Equal("1", Header(response, "x-litellm-attempted-fallbacks"));
        Assert.Equal("0", Header(response, "x-litellm-attempted-retries"));
        Assert.Single(small.Requests);
        Assert.Empty(general.Requests);
    }

    [Fact]
    public async Task CompleteChat_ServerErrorAfterRetries_UsesGeneralFallback()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 1
              fallbacks: [{primary: [backup]}]
            """));

        using var response = await broker.Http.SendAsync(Chat("primary"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-litellm-model-group"));
        Assert.Equal("1", Header(response, "x-litellm-attempted-retries"));
        Assert.Equal("1", Header(response, "x-litellm-attempted-fallbacks"));
        Assert.Equal(2, primary.Requests.Count);
        Assert.Single(backup.Requests);
    }

    [Fact]
    public async Task CompleteChat_EverythingFails_OneErrorNamingEveryAttempt()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        backup.Failure = (503, """{"error":{"message":"backup unavailable","type":"server_error"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """));

        using var response = await broker.Http.SendAsync(Chat("primary"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("backup unavailable", message, StringComparison.Ordinal);
        Assert.Contains("#1 primary/p1: InternalServerError 500", message, StringComparison.Ordinal);
        Assert.Contains("#2 backup/b1: InternalServerError 503", message, StringComparison.Ordinal);
        Assert.Equal("api_error", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompleteChat_MockTestingFallbacks_AnsweredByFallbackGroup()
    {
        var primary = await Fake();
        var backup = await Fake();
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              fallbacks: [{primary: [backup]}]
            """));

        using var response = await broker.Http.SendAsync(Chat("primary", """, "mock_testing_fallbacks": true"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-litellm-model-group"));
        Assert.Equal("1", Header(response, "x-litellm-attempted-fallbacks"));
        Assert.Empty(primary.Requests);
        // the gateway-only keys never reach the provider
        var sent = Assert.Single(backup.Requests).Body;
        Assert.False(sent.ContainsKey("mock_testing_fallbacks"));
    }

    [Fact]
    public async Task CompleteChat_FallbacksInRequestBody_OverrideConfig()
    {
        var primary = await Fake();
        var configured = await Fake();
        var requested = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("configured", "c1", configured) + Deployment("requested", "r1", requested),
            """
              fallbacks: [{primary: [configured]}]
            """));

        using var response = await broker.Http.SendAsync(Chat("primary", """, "fallbacks": ["requested"], "num_retries": 0"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("requested", Header(response, "x-litellm-model-group"));
        Assert.Single(primary.Requests);
        Assert.Empty(configured.Requests);
        Assert.False(requested.Requests.Single().Body.ContainsKey("fallbacks"));
    }

    [Fact]
    public async Task CompleteChat_FirstAttemptSucceeds_CreatesNoSagaInstance()
    {
        var primary = await Fake();
        var backup = await Fake();
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              fallbacks: [{primary: [backup]}]
            """));

        for (var i = 0; i < 5; i++)
        {
            using var ok = await broker.Http.SendAsync(Chat("primary"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("0", Header(ok, "x-litellm-attempted-retries"));
        }

        Assert.Equal(0, SagasCreated(broker));

        // the counter does count: a request that falls back creates exactly one
        using var fellBack = await broker.Http.SendAsync(Chat("primary", """, "mock_testing_fallbacks": true"""));
        Assert.Equal(HttpStatusCode.OK, fellBack.StatusCode);
        Assert.Equal(1, SagasCreated(broker));
    }

    [Fact]
    public async Task StreamChat_ServerErrorBeforeFirstChunk_FallsBack()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """));

        using var response = await broker.Http.SendAsync(Chat("primary", """, "stream": true"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("provider", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.Single(backup.Requests);
    }

    [Fact]
    public async Task CompleteChat_ProcessDiesAfterSagaSavedNextStep_NextStepStillSent()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """));
        // the saga's process dies once right after storing the next step: its report is consumed again
        var crashed = 0;
        var saved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var store in Stores(broker))
        {
            store.AfterUpdate = state =>
            {
                saved.TrySetResult();
                return Interlocked.Exchange(ref crashed, 1) == 0
                    ? throw new MassTransit.ConcurrencyException("simulated crash after the save", typeof(ChatCompletionRetryState), state.CorrelationId)
                    : Task.CompletedTask;
            };
        }

        // the fallback answers only once the saga stored its step (as on any machine not loaded to the hilt)
        backup.HoldAnswer = (_, aborted) => saved.Task.WaitAsync(TimeSpan.FromSeconds(30), aborted);

        using var response = await broker.Http.SendAsync(Chat("primary"));

        // the step went out before the state was stored: the fallback answers (not the Ingress' timeout)
        Assert.Equal(1, crashed);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-litellm-model-group"));
        Assert.Single(backup.Requests);
    }

    [Fact]
    public async Task CompleteChat_ProcessDiesAfterSagaSentNextStep_AttemptRunsOnce()
    {
        var primary = await Fake();
        var backup = await Fake();
        primary.Failure = (500, """{"error":{"message":"primary exploded","type":"server_error"}}""", null);
        await using var broker = await StartBrokerAsync(Config(
            Deployment("primary", "p1", primary) + Deployment("backup", "b1", backup),
            """
              num_retries: 0
              fallbacks: [{primary: [backup]}]
            """));
        // the saga's process dies once after sending the next step and before storing it: the report, consumed again,
        // sends the step again
        var crashed = 0;
        var saved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var store in Stores(broker))
        {
            store.BeforeUpdate = state => Interlocked.Exchange(ref crashed, 1) == 0
                ? throw new MassTransit.ConcurrencyException("simulated crash before the save", typeof(ChatCompletionRetryState), state.CorrelationId)
                : Task.CompletedTask;
            store.AfterUpdate = _ =>
            {
                saved.TrySetResult();
                return Task.CompletedTask;
            };
        }

        // the fallback answers only once the report, consumed again, stored the step (both copies are out by then)
        backup.HoldAnswer = (_, aborted) => saved.Task.WaitAsync(TimeSpan.FromSeconds(30), aborted);

        using var response = await broker.Http.SendAsync(Chat("primary"));

        Assert.Equal(1, crashed);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-litellm-model-group"));
        // both copies of the fallback attempt reached a worker; only one called the provider
        var watch = Stopwatch.StartNew();
        while (AttemptCopiesSeen(broker) < 2 && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(20);
        }

        Assert.Equal(2, AttemptCopiesSeen(broker));
        Assert.Single(backup.Requests);
    }

    protected static IEnumerable<RetrySagaStore> Stores(BrokerRunner broker) =>
        broker.Hosts.Select(h => h.Services.GetService<RetrySagaStore>()).OfType<RetrySagaStore>();

    /// <summary>Copies of saga-sent attempts that workers took up (run or dropped), all processes together.</summary>
    protected static long AttemptCopiesSeen(BrokerRunner broker) => Stores(broker).Sum(s => s.AttemptsStarted + s.AttemptsRefused);

    protected static long SagasCreated(BrokerRunner broker) =>
        broker.Hosts.Select(h => h.Services.GetService<RetrySagaStore>()).OfType<RetrySagaStore>().Sum(s => s.Created);

    protected static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    protected static HttpRequestMessage Chat(string model, string extra = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]{{extra}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MasterKey);
        return request;
    }
}

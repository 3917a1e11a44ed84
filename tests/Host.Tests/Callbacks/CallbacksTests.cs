using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Contracts.Identity;
using Broker.Contracts.Usage;
using Broker.Host.Tests.Alerts;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Callbacks;

/// <summary>
/// litellm_settings success/failure callbacks through a running broker, each integration a real local fake receiver
/// (Langfuse, Datadog, OpenMeter, a generic API, and Sentry through Sentry's own SDK).
/// </summary>
public sealed class CallbacksTests
{
    private static readonly Dictionary<string, string?> FastRetries = new() { ["Alerts:RetryDelayMs"] = "200" };

    [Fact]
    public async Task CompleteChat_SuccessAndFailure_EachCallbackGetsItsPayload()
    {
        await using var receivers = await Receivers.StartAsync();
        await using var healthy = await FakeUpstream.StartOpenAiAsync();
        await using var failing = await FakeUpstream.StartOpenAiAsync();
        failing.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        var yaml = $$"""
            model_list:
              - model_name: ok
                litellm_params: {model: openai/gpt-4o, api_base: "{{healthy.BaseUrl}}/v1", api_key: sk-up-1111}
                model_info: {id: ok-1}
              - model_name: broken
                litellm_params: {model: openai/gpt-4o, api_base: "{{failing.BaseUrl}}/v1", api_key: sk-up-2222}
                model_info: {id: broken-1}
            router_settings:
              num_retries: 0
            litellm_settings:
              success_callback: ["langfuse", "datadog", "openmeter", "generic"]
              failure_callback: ["langfuse", "datadog", "sentry", "generic"]
              turn_off_message_logging: true
            {{receivers.Environment()}}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        using var ok = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("ok"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var callId = ok.Headers.GetValues("x-litellm-call-id").Single();
        using var broken = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("broken"));
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);

        // Langfuse: a trace and a generation per request, basic auth with the project keys
        var langfuse = await receivers.Langfuse.WaitForAsync(r => r.Count >= 2);
        Assert.All(langfuse, r => Assert.Equal("/api/public/ingestion", r.Path));
        Assert.All(langfuse, r => Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("pk-lf-test:sk-lf-test")), r.Headers["authorization"]));
        var okBatch = Batch(langfuse, "ok");
        Assert.Equal(["trace-create", "generation-create"], okBatch.Select(e => e!["type"]!.GetValue<string>()).ToList());
        var okGeneration = okBatch[1]!["body"]!;
        Assert.Equal(callId, okGeneration["traceId"]!.GetValue<string>());
        Assert.Equal("DEFAULT", okGeneration["level"]!.GetValue<string>());
        Assert.True(okGeneration["usage"]!["input"]!.GetValue<int>() > 0);
        Assert.True(okGeneration["usage"]!["output"]!.GetValue<int>() > 0);
        Assert.Equal("redacted-by-litellm", okGeneration["input"]!.GetValue<string>());
        var brokenGeneration = Batch(langfuse, "broken")[1]!["body"]!;
        Assert.Equal("ERROR", brokenGeneration["level"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(brokenGeneration["statusMessage"]!.GetValue<string>()));

        // Datadog: logs intake with the API key header, status info / error
        var datadog = await receivers.Datadog.WaitForAsync(r => r.Count >= 2);
        Assert.All(datadog, r => Assert.Equal(("/api/v2/logs", "dd-key-test"), (r.Path, r.Headers["dd-api-key"])));
        var logs = datadog.Select(r => JsonNode.Parse(r.Body)!.AsArray().Single()!).ToList();
        var okLog = logs.Single(l => l["status"]!.GetValue<string>() == "info");
        var okMessage = JsonNode.Parse(okLog["message"]!.GetValue<string>())!;
        Assert.Equal((callId, "ok", "success"), (okMessage["id"]!.GetValue<string>(), okMessage["model_group"]!.GetValue<string>(), okMessage["status"]!.GetValue<string>()));
        Assert.Equal("redacted-by-litellm", okMessage["messages"]!.GetValue<string>());
        var errorLog = logs.Single(l => l["status"]!.GetValue<string>() == "error");
        Assert.Equal("broken", JsonNode.Parse(errorLog["message"]!.GetValue<string>())!["model_group"]!.GetValue<string>());

        // generic API: the standard payload in a JSON array, with the configured headers
        var generic = await receivers.Generic.WaitForAsync(r => r.Count >= 2);
        Assert.All(generic, r => Assert.Equal(("/logs", "Bearer gen-token"), (r.Path, r.Headers["authorization"])));
        var payloads = generic.Select(r => JsonNode.Parse(r.Body)!.AsArray().Single()!).ToList();
        var okPayload = payloads.Single(p => p["status"]!.GetValue<string>() == "success");
        Assert.Equal((callId, "ok-1", "openai"), (okPayload["id"]!.GetValue<string>(), okPayload["model_id"]!.GetValue<string>(), okPayload["custom_llm_provider"]!.GetValue<string>()));
        Assert.Equal(okPayload["prompt_tokens"]!.GetValue<int>() + okPayload["completion_tokens"]!.GetValue<int>(), okPayload["total_tokens"]!.GetValue<int>());
        var failedPayload = payloads.Single(p => p["status"]!.GetValue<string>() == "failure");
        Assert.Equal("broken-1", failedPayload["model_id"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(failedPayload["error_str"]!.GetValue<string>()));

        // OpenMeter: one CloudEvent, for the success only
        var meter = Assert.Single(await receivers.OpenMeter.WaitForAsync(r => r.Count >= 1));
        Assert.Equal(("/api/v1/events", "Bearer om-key-test"), (meter.Path, meter.Headers["authorization"]));
        Assert.StartsWith("application/cloudevents+json", meter.Headers["content-type"], StringComparison.Ordinal);
        var cloudEvent = JsonNode.Parse(meter.Body)!;
        Assert.Equal(("1.0", "litellm_tokens", callId), (cloudEvent["specversion"]!.GetValue<string>(), cloudEvent["type"]!.GetValue<string>(), cloudEvent["id"]!.GetValue<string>()));
        Assert.Equal("ok", cloudEvent["data"]!["model"]!.GetValue<string>());
        Assert.True(cloudEvent["data"]!["total_tokens"]!.GetValue<int>() > 0);

        // Sentry: the SDK posts an envelope with the failure's error event, and nothing for the success
        var sentry = await receivers.Sentry.WaitForAsync(r => r.Any(x => x.Body.Contains("broken-1", StringComparison.Ordinal)));
        var envelope = sentry.First(x => x.Body.Contains("broken-1", StringComparison.Ordinal));
        Assert.Equal("/api/42/envelope/", envelope.Path);
        Assert.Contains("sentry_key=sentrypublic", envelope.Headers["x-sentry-auth"], StringComparison.Ordinal);
        Assert.Contains("\"error_class\"", envelope.Body, StringComparison.Ordinal);
        Assert.Contains("LLM request failed", envelope.Body, StringComparison.Ordinal);

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(receivers.OpenMeter.All);
        Assert.DoesNotContain(receivers.Sentry.All, r => r.Body.Contains("ok-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CompleteChat_GenericReceiverFailsTwice_RetriedUntilDelivered()
    {
        await using var receivers = await Receivers.StartAsync();
        receivers.Generic.FailFirst = 2;
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: ok
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            litellm_settings:
              success_callback: ["generic"]
            {{receivers.Environment()}}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        using var ok = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("ok"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var delivered = Assert.Single(await receivers.Generic.WaitForAsync(r => r.Count >= 1));
        Assert.Equal(3, receivers.Generic.All.Count);
        Assert.Equal(ok.Headers.GetValues("x-litellm-call-id").Single(), JsonNode.Parse(delivered.Body)!.AsArray().Single()!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RecordUsage_RedactUserApiKeyInfo_KeyUserAndTeamLeftOutOnlyWhenOn(bool redact)
    {
        await using var receivers = await Receivers.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: ok
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            litellm_settings:
              callbacks: ["langfuse", "generic", "datadog"]
              redact_user_api_key_info: {{(redact ? "true" : "false")}}
            {{receivers.Environment()}}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);
        var requestId = Guid.NewGuid();
        await broker.Hosts[0].Services.GetRequiredService<IBus>().Publish(new UsageRecorded
        {
            RequestId = requestId,
            ModelGroup = "ok",
            DeploymentId = "ok-1",
            Provider = "openai",
            PromptTokens = 11,
            CompletionTokens = 7,
            LatencyMs = 250,
            Succeeded = true,
            CompletedAt = DateTimeOffset.UtcNow,
            Cost = 0.0042m,
            Caller = new Caller { KeyHash = "hash-abc123", KeyAlias = "alias-team-key", UserId = "user-42", TeamId = "team-7", EndUser = "end-user-9" },
        });

        var generic = Assert.Single(await receivers.Generic.WaitForAsync(r => r.Count >= 1));
        var langfuse = Assert.Single(await receivers.Langfuse.WaitForAsync(r => r.Count >= 1));
        var datadog = Assert.Single(await receivers.Datadog.WaitForAsync(r => r.Count >= 1));
        var payload = JsonNode.Parse(generic.Body)!.AsArray().Single()!;
        Assert.Equal(requestId.ToString(), payload["id"]!.GetValue<string>());
        Assert.Equal(0.0042m, payload["response_cost"]!.GetValue<decimal>());
        foreach (var secret in new[] { "hash-abc123", "alias-team-key", "user-42", "team-7" })
        {
            foreach (var body in new[] { generic.Body, langfuse.Body, datadog.Body })
            {
                Assert.Equal(!redact, body.Contains(secret, StringComparison.Ordinal));
            }
        }

        var metadata = payload["metadata"]!.AsObject();
        Assert.Equal(!redact, metadata.ContainsKey("user_api_key_hash"));
        if (!redact)
        {
            Assert.Equal("hash-abc123", metadata["user_api_key_hash"]!.GetValue<string>());
            Assert.Equal("team-7", metadata["user_api_key_team_id"]!.GetValue<string>());
        }
    }

    private static JsonArray Batch(IReadOnlyList<ReceivedRequest> langfuse, string modelGroup) =>
        langfuse.Select(r => JsonNode.Parse(r.Body)!["batch"]!.AsArray())
            .Single(b => b[1]!["body"]!["model"]!.GetValue<string>() == modelGroup);

    private sealed class Receivers : IAsyncDisposable
    {
        public required FakeReceiver Langfuse { get; init; }

        public required FakeReceiver Datadog { get; init; }

        public required FakeReceiver OpenMeter { get; init; }

        public required FakeReceiver Generic { get; init; }

        public required FakeReceiver Sentry { get; init; }

        public static async Task<Receivers> StartAsync() => new()
        {
            Langfuse = await FakeReceiver.StartAsync(),
            Datadog = await FakeReceiver.StartAsync(),
            OpenMeter = await FakeReceiver.StartAsync(),
            Generic = await FakeReceiver.StartAsync(),
            Sentry = await FakeReceiver.StartAsync(),
        };

        /// <summary>config.yaml's environment_variables pointing every integration at its fake.</summary>
        public string Environment() => $$"""
            environment_variables:
              LANGFUSE_PUBLIC_KEY: pk-lf-test
              LANGFUSE_SECRET_KEY: sk-lf-test
              LANGFUSE_HOST: "{{Langfuse.BaseUrl}}"
              DD_API_KEY: dd-key-test
              DD_SITE: "{{Datadog.BaseUrl}}"
              OPENMETER_API_ENDPOINT: "{{OpenMeter.BaseUrl}}"
              OPENMETER_API_KEY: om-key-test
              GENERIC_LOGGER_ENDPOINT: "{{Generic.BaseUrl}}/logs"
              GENERIC_LOGGER_HEADERS: "Authorization=Bearer gen-token"
              SENTRY_DSN: "{{Sentry.BaseUrl.Replace("http://", "http://sentrypublic@", StringComparison.Ordinal)}}/42"
            """;

        public async ValueTask DisposeAsync()
        {
            await Langfuse.DisposeAsync();
            await Datadog.DisposeAsync();
            await OpenMeter.DisposeAsync();
            await Generic.DisposeAsync();
            await Sentry.DisposeAsync();
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Broker.Host.Tests.Alerts;
using Broker.Host.Tests.Infrastructure;
using Broker.ServiceDefaults.Observability;
using Broker.TestKit;

namespace Broker.Host.Tests.Observability;

/// <summary>
/// The <c>otel</c> callback as LiteLLM configures it: OTEL_EXPORTER / OTEL_ENDPOINT / OTEL_HEADERS pick the exporter, and
/// each provider call is a GenAI span. The export is checked at a fake OTLP/HTTP receiver (protobuf body: the span name,
/// attribute keys and string values are looked for in it, the headers exactly); the attribute values are checked
/// exactly on the spans themselves through an in-process ActivityListener.
/// </summary>
public sealed class OtelCallbackTests
{
    [Fact]
    public async Task CompleteChat_OtelCallbackOtlpHttp_GenAiSpanExportedWithHeaders()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == GenAiTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var collector = await FakeReceiver.StartAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var yaml = $$"""
            model_list:
              - model_name: otel-group
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
                model_info: {id: otel-1, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
            litellm_settings:
              callbacks: ["otel"]
            environment_variables:
              OTEL_EXPORTER: otlp_http
              OTEL_ENDPOINT: "{{collector.BaseUrl}}/v1/traces"
              OTEL_HEADERS: "api-key=otel-secret,x-tenant=broker"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: new Dictionary<string, string?> { ["OTEL_BSP_SCHEDULE_DELAY"] = "200" });

        using var ok = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("otel-group"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var callId = ok.Headers.GetValues("x-litellm-call-id").Single();

        var span = await WaitForAsync(() => spans.FirstOrDefault(a => (a.GetTagItem("broker.request_id") as string) == callId));
        Assert.Equal(("chat otel-group", ActivityKind.Client), (span.DisplayName, span.Kind));
        Assert.Equal("openai", span.GetTagItem("gen_ai.system"));
        Assert.Equal("otel-group", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal("gpt-4o", span.GetTagItem("gen_ai.response.model"));
        var input = Assert.IsType<int>(span.GetTagItem("gen_ai.usage.input_tokens"));
        var output = Assert.IsType<int>(span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.True(input > 0 && output > 0);
        Assert.Equal(input * 0.001 + output * 0.002, Assert.IsType<double>(span.GetTagItem("gen_ai.usage.cost")), 9);

        // exported over OTLP/HTTP protobuf to OTEL_ENDPOINT with OTEL_HEADERS
        var export = (await collector.WaitForAsync(r => r.Any(x => x.Body.Contains("chat otel-group", StringComparison.Ordinal))))
            .First(x => x.Body.Contains("chat otel-group", StringComparison.Ordinal));
        Assert.Equal(("POST", "/v1/traces"), (export.Method, export.Path));
        Assert.Equal("application/x-protobuf", export.Headers["content-type"]);
        Assert.Equal(("otel-secret", "broker"), (export.Headers["api-key"], export.Headers["x-tenant"]));
        foreach (var expected in new[] { "gen_ai.request.model", "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cost", callId })
        {
            Assert.Contains(expected, export.Body, StringComparison.Ordinal);
        }
    }

    private static async Task<Activity> WaitForAsync(Func<Activity?> find)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (find() is { } found)
            {
                return found;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, "no GenAI span for the request");
            await Task.Delay(50);
        }
    }
}

using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Billing.Alerts;

namespace Broker.Billing.Callbacks;

/// <summary>
/// OpenMeter: one CloudEvent per successful request (<c>POST {OPENMETER_API_ENDPOINT}/api/v1/events</c>,
/// <c>application/cloudevents+json</c>, Bearer OPENMETER_API_KEY), type OPENMETER_EVENT_TYPE (default
/// <c>litellm_tokens</c>), subject the end user (else the key's user, else <c>anonymous</c>).
/// </summary>
public sealed class OpenMeterSink(string endpoint, string apiKey, string eventType, IHttpClientFactory httpClients) : ICallbackSink
{
    /// <summary>From OPENMETER_API_KEY, OPENMETER_API_ENDPOINT and OPENMETER_EVENT_TYPE.</summary>
    public static OpenMeterSink? Create(CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var env = context.Env;
        return env.Get("OPENMETER_API_KEY") is not { } apiKey
            ? null
            : new OpenMeterSink(env.Get("OPENMETER_API_ENDPOINT") ?? "https://openmeter.cloud", apiKey,
                env.Get("OPENMETER_EVENT_TYPE") ?? "litellm_tokens", context.HttpClients);
    }

    public string Name => "openmeter";

    public bool TakesSuccess => true;

    public bool TakesFailure => false;

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var u = callbackEvent.Usage;
        var cloudEvent = new JsonObject
        {
            ["specversion"] = "1.0",
            ["type"] = eventType,
            ["id"] = u.RequestId.ToString(),
            ["time"] = u.CompletedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["source"] = "litellm-proxy",
            ["subject"] = callbackEvent.Caller?.EndUser ?? callbackEvent.Caller?.UserId ?? "anonymous",
            ["data"] = new JsonObject
            {
                ["model"] = u.ModelGroup,
                ["cost"] = callbackEvent.Cost,
                ["prompt_tokens"] = u.PromptTokens,
                ["completion_tokens"] = u.CompletionTokens,
                ["total_tokens"] = u.PromptTokens + u.CompletionTokens,
            },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.TrimEnd('/') + "/api/v1/events")
        {
            Content = new StringContent(cloudEvent.ToJsonString(), Encoding.UTF8, "application/cloudevents+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, "OpenMeter", cancellationToken);
    }
}

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Billing.Alerts;

namespace Broker.Billing.Callbacks;

/// <summary>
/// Datadog logs intake: <c>POST https://http-intake.logs.{DD_SITE}/api/v2/logs</c> with the <c>DD-API-KEY</c> header, one
/// log per request whose message is the standard logging payload (status <c>info</c> or <c>error</c>). DD_SITE may
/// also be a full URL (a proxy, or a test receiver).
/// </summary>
public sealed class DatadogSink(string baseUrl, string apiKey, string source, string service, string? environment, IHttpClientFactory httpClients) : ICallbackSink
{
    /// <summary>From DD_API_KEY, DD_SITE, DD_SOURCE, DD_SERVICE and DD_ENV.</summary>
    public static DatadogSink? Create(CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var env = context.Env;
        return env.Get("DD_API_KEY") is not { } apiKey
            ? null
            : new DatadogSink(BaseUrlOf(env.Get("DD_SITE")), apiKey, env.Get("DD_SOURCE") ?? "litellm",
                env.Get("DD_SERVICE") ?? "litellm-server", env.Get("DD_ENV"), context.HttpClients);
    }

    public string Name => "datadog";

    public bool TakesSuccess => true;

    public bool TakesFailure => true;

    public static string BaseUrlOf(string? site) =>
        site is { } s && (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            ? s.TrimEnd('/')
            : $"https://http-intake.logs.{site ?? "datadoghq.com"}";

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var log = new JsonObject
        {
            ["ddsource"] = source,
            ["ddtags"] = environment is null ? $"service:{service}" : $"env:{environment},service:{service}",
            ["hostname"] = Environment.MachineName,
            ["service"] = service,
            ["status"] = callbackEvent.Succeeded ? "info" : "error",
            ["message"] = callbackEvent.StandardPayload().ToJsonString(),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/api/v2/logs") { Content = JsonContent.Create(new JsonArray(log)) };
        request.Headers.Add("DD-API-KEY", apiKey);
        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, "Datadog", cancellationToken);
    }
}

using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Billing.Alerts;

namespace Broker.Billing.Callbacks;

/// <summary>
/// A generic HTTP logger: <c>generic</c> / <c>generic_api</c> with GENERIC_LOGGER_ENDPOINT and GENERIC_LOGGER_HEADERS
/// (<c>Name=value,Name2=value2</c>), or a callback_settings entry with <c>callback_type: generic_api</c>
/// (<c>endpoint</c>, <c>headers</c>, <c>event_types</c>: llm_api_success / llm_api_failure, <c>log_format</c>:
/// json_array (default), ndjson or single). The body is the standard logging payload.
/// </summary>
public sealed class GenericApiSink(
    string name, string endpoint, IReadOnlyDictionary<string, string> headers, bool success, bool failure, string logFormat, IHttpClientFactory httpClients) : ICallbackSink
{
    /// <summary><c>generic</c> / <c>generic_api</c> from GENERIC_LOGGER_ENDPOINT and GENERIC_LOGGER_HEADERS.</summary>
    public static GenericApiSink? FromEnvironment(string name, CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Env.Get("GENERIC_LOGGER_ENDPOINT") is not { } endpoint
            ? null
            : new GenericApiSink(name, endpoint, ParseHeaders(context.Env.Get("GENERIC_LOGGER_HEADERS")), true, true, "json_array", context.HttpClients);
    }

    public string Name => name;

    public bool TakesSuccess => success;

    public bool TakesFailure => failure;

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var payload = callbackEvent.StandardPayload();
        HttpContent content = logFormat switch
        {
            "single" => JsonContent.Create(payload),
            "ndjson" => new StringContent(payload.ToJsonString() + "\n", Encoding.UTF8, "application/x-ndjson"),
            _ => JsonContent.Create(new JsonArray(payload)),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        foreach (var (header, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(header, value))
            {
                request.Content.Headers.TryAddWithoutValidation(header, value);
            }
        }

        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, name, cancellationToken);
    }

    /// <summary>GENERIC_LOGGER_HEADERS: <c>Authorization=Bearer x,X-Team=y</c>.</summary>
    public static Dictionary<string, string> ParseHeaders(string? text)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                headers[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
            }
        }

        return headers;
    }
}

using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Http;

/// <summary>
/// A request's JSON body, read and parsed once whatever its Content-Type (curl's <c>-d</c> sends
/// <c>application/x-www-form-urlencoded</c>): the access check and the endpoint see the same object, so what was
/// authorized is what runs. Changes the access check makes (a key's model alias, fallbacks outside the caller's
/// models) are made on this object.
/// </summary>
public sealed class RequestBody
{
    private static readonly object ItemKey = new();

    private RequestBody(JsonObject? json, string text, OpenAiErrorResult? error)
    {
        Json = json;
        Text = text;
        Error = error;
    }

    /// <summary>The body as a JSON object; null when it is not one (<see cref="Error"/> says why).</summary>
    public JsonObject? Json { get; }

    /// <summary>The body's JSON text, as sent or as the access check rewrote it.</summary>
    public string Text { get; private set; }

    public OpenAiErrorResult? Error { get; }

    /// <summary>
    /// The request's body, read on first use within general_settings.max_request_size_mb, or the route's own limit
    /// (<see cref="BodyFormatExtensions.JsonBodyUpTo"/>).
    /// </summary>
    public static Task<RequestBody> ReadAsync(HttpContext http, Config.IProxyConfigProvider config)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(config);
        var maxBytes = http.GetEndpoint()?.Metadata.GetMetadata<BodyFormat>()?.MaxBytes ??
                       (long)(config.Current.GeneralSettings.MaxRequestSizeMb * 1024 * 1024);
        return ReadAsync(http, maxBytes);
    }

    /// <summary>The request's body, read on first use within <paramref name="maxBytes"/>.</summary>
    public static async Task<RequestBody> ReadAsync(HttpContext http, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Items.TryGetValue(ItemKey, out var read) && read is RequestBody body)
        {
            return body;
        }

        var (json, text, error) = await JsonBodyReader.ReadAsync(http.Request, maxBytes, http.RequestAborted);
        body = new RequestBody(json, text, error);
        http.Items[ItemKey] = body;
        return body;
    }

    /// <summary>Records a change made to <see cref="Json"/>, so <see cref="Text"/> follows it.</summary>
    public void Changed()
    {
        if (Json is not null)
        {
            Text = Json.ToJsonString();
        }
    }
}

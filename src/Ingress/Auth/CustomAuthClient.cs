using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Ingress.Errors;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Auth;

/// <summary>
/// general_settings.custom_auth as an HTTP hook (ext-authz style): POSTs <c>{method, path, headers, api_key}</c> to the
/// hook and turns its answer into the caller's key record (<c>user_id</c>, <c>team_id</c>, <c>key_alias</c>,
/// <c>models</c>, <c>rpm_limit</c>, <c>tpm_limit</c>, <c>max_parallel_requests</c>, <c>metadata</c>), which the auth
/// filter then enforces like a stored key. <c>allow: false</c> or a 401/403 answer refuses (401); a timeout, an
/// unreachable hook or any other answer refuses too (503): it fails closed.
/// </summary>
public sealed class CustomAuthClient(IHttpClientFactory httpClientFactory, ILogger<CustomAuthClient> logger)
{
    /// <summary>Headers never forwarded to the hook: the key travels once, as api_key; hop-by-hop and cookies stay.</summary>
    private static readonly HashSet<string> Withheld = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "x-api-key", "api-key", "x-litellm-api-key", "cookie", "connection", "content-length", "transfer-encoding",
    };

    public async Task<(KeyRecord? Key, OpenAiErrorResult? Refusal)> CheckAsync(
        CustomAuthHook hook, HttpContext http, string presentedKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(presentedKey);
        var headers = new JsonObject();
        foreach (var (name, values) in http.Request.Headers)
        {
            if (!Withheld.Contains(name))
            {
                headers[name.ToLowerInvariant()] = values.ToString();
            }
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url)
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["method"] = http.Request.Method,
                ["path"] = http.Request.Path.Value ?? "/",
                ["headers"] = headers,
                ["api_key"] = presentedKey,
            }),
        };
        foreach (var (name, value) in hook.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(hook.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await httpClientFactory.CreateClient(nameof(CustomAuthClient)).SendAsync(request, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var why = ex is OperationCanceledException ? $"did not answer within {hook.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s" : "is unreachable";
            Log.CustomAuthUnavailable(logger, hook.Url.GetLeftPart(UriPartial.Path), why);
            return (null, Unavailable(why));
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return (null, Denied(await ReasonAsync(response, cancellationToken)));
            }

            if (!response.IsSuccessStatusCode)
            {
                Log.CustomAuthUnavailable(logger, hook.Url.GetLeftPart(UriPartial.Path), $"answered {(int)response.StatusCode}");
                return (null, Unavailable($"answered {(int)response.StatusCode}"));
            }

            JsonObject? body;
            try
            {
                body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonObject;
            }
            catch (JsonException)
            {
                body = null;
            }

            if (body is null)
            {
                Log.CustomAuthUnavailable(logger, hook.Url.GetLeftPart(UriPartial.Path), "answered something that is not a JSON object");
                return (null, Unavailable("answered something that is not a JSON object"));
            }

            if (body["allow"] is JsonValue allow && allow.GetValueKind() == JsonValueKind.False)
            {
                return (null, Denied(Text(body, "message") ?? Text(body, "reason")));
            }

            // fail closed: only an explicit allow: true lets the key in (an empty object from a wrong URL does not)
            if (!(body["allow"] is JsonValue allowed && allowed.GetValueKind() == JsonValueKind.True))
            {
                Log.CustomAuthUnavailable(logger, hook.Url.GetLeftPart(UriPartial.Path), "answered without \"allow\": true");
                return (null, Unavailable("answered without \"allow\": true"));
            }

            try
            {
                return (ToKey(body, presentedKey), null);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException)
            {
                Log.CustomAuthUnavailable(logger, hook.Url.GetLeftPart(UriPartial.Path), "answered identity fields of the wrong type: " + ex.Message);
                return (null, Unavailable("answered identity fields of the wrong type"));
            }
        }
    }

    /// <summary>The hook's identity as a key record, enforced like a stored key (its models, limits and metadata).</summary>
    private static KeyRecord ToKey(JsonObject body, string presentedKey) => new()
    {
        TokenHash = AuthFilter.HashKey(presentedKey),
        KeyName = Secret.Redact(presentedKey),
        KeyAlias = Text(body, "key_alias"),
        UserId = Text(body, "user_id"),
        TeamId = Text(body, "team_id"),
        Models = body["models"] is JsonArray models ? [.. models.Select(m => m!.GetValue<string>())] : [],
        RpmLimit = Number(body, "rpm_limit"),
        TpmLimit = Number(body, "tpm_limit"),
        MaxParallelRequests = Number(body, "max_parallel_requests") is { } p ? checked((int)p) : null,
        Metadata = body["metadata"] is JsonObject metadata ? metadata.ToJsonString() : "{}",
    };

    private static string? Text(JsonObject body, string name) =>
        body[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long? Number(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<long>(),
        _ => throw new FormatException($"{name} is not a number"),
    };

    private static async Task<string?> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) is JsonObject o
                ? Text(o, "message") ?? Text(o, "reason")
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static OpenAiErrorResult Denied(string? reason) => OpenAiErrorResult.Unauthorized(
        "Authentication Error: custom_auth denied this key" + (string.IsNullOrWhiteSpace(reason) ? "." : ": " + reason));

    private static OpenAiErrorResult Unavailable(string why) => new(StatusCodes.Status503ServiceUnavailable,
        $"Authentication Error: the custom_auth hook {why}, so this key cannot be checked (fail closed). Retry shortly.",
        "service_unavailable", null, "custom_auth_unavailable");
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers;

/// <summary>Turns a provider's HTTP error into the error classes router_settings.retry_policy names.</summary>
public static class ProviderErrorClassifier
{
    private static readonly string[] ContextWindowMarkers =
    [
        "context_length_exceeded", "maximum context length", "context window", "prompt is too long",
        "too many tokens", "input is too long", "reduce the length", "too many input tokens",
        "exceeds the maximum number of tokens",
    ];

    private static readonly string[] ContentPolicyMarkers =
    [
        "content_policy_violation", "content_filter", "content management policy", "responsibleaipolicyviolation",
        "safety system",
    ];

    public static ProviderError FromHttp(string provider, int status, string? body, HttpResponseHeaders? headers)
    {
        var (message, code, type) = ReadError(body);
        message ??= $"{provider} returned HTTP {status}";
        // Bedrock names its error in a header: "ThrottlingException:http://internal.amazon.com/coral/..."
        if (headers is not null && headers.TryGetValues("x-amzn-ErrorType", out var awsTypes) && awsTypes.FirstOrDefault() is { Length: > 0 } awsType)
        {
            type ??= awsType.Split(':')[0];
        }

        var text = $"{code} {type} {message}".ToLowerInvariant();
        var retryAfter = RetryAfter(headers);

        // Google answers a bad key with 400 INVALID_ARGUMENT "API key not valid" (reason API_KEY_INVALID)
        if (status is 401 or 403 || (status == 400 && (text.Contains("api key not valid", StringComparison.Ordinal) || (body?.Contains("API_KEY_INVALID", StringComparison.Ordinal) ?? false))))
        {
            return new ProviderError(ProviderErrorClass.Authentication, status == 400 ? 401 : status, message, status == 400 ? "invalid_api_key" : code ?? "invalid_api_key");
        }

        if (status == 429)
        {
            return new ProviderError(ProviderErrorClass.RateLimit, 429, message, code ?? "rate_limit_exceeded", retryAfter);
        }

        if (status is 408 or 504)
        {
            return new ProviderError(ProviderErrorClass.Timeout, status, message, code, retryAfter);
        }

        if (ContextWindowMarkers.Any(text.Contains))
        {
            return new ProviderError(ProviderErrorClass.ContextWindowExceeded, 400, message, "context_length_exceeded");
        }

        if (ContentPolicyMarkers.Any(text.Contains))
        {
            return new ProviderError(ProviderErrorClass.ContentPolicyViolation, 400, message, "content_policy_violation");
        }

        if (status == 404)
        {
            return new ProviderError(ProviderErrorClass.NotFound, 404, message, code);
        }

        if (status is >= 400 and < 500)
        {
            return new ProviderError(ProviderErrorClass.BadRequest, status, message, code);
        }

        // 5xx are server errors; a non-standard one (Anthropic's 529 "overloaded") is shown as 503
        var clientStatus = status is >= 500 and <= 511 ? status : 503;
        return new ProviderError(ProviderErrorClass.InternalServerError, clientStatus, message, code, retryAfter);
    }

    public static ProviderError Timeout(string provider, TimeSpan after) =>
        new(ProviderErrorClass.Timeout, (int)HttpStatusCode.RequestTimeout,
            $"{provider} did not answer within {after.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s", "timeout");

    public static ProviderError Unreachable(string provider, string detail) =>
        new(ProviderErrorClass.InternalServerError, (int)HttpStatusCode.BadGateway, $"{provider} is unreachable: {detail}", "api_connection_error");

    /// <summary>
    /// Reads OpenAI's <c>{"error":{"message","code","type"}}</c>, Anthropic's <c>{"type":"error","error":{...}}</c>,
    /// Google's <c>{"error":{"code":429,"message","status":"RESOURCE_EXHAUSTED"}}</c> and a bare <c>{"message"}</c>
    /// (Cohere, Bedrock).
    /// </summary>
    private static (string? Message, string? Code, string? Type) ReadError(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null, null);
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String)
                {
                    return (error.GetString(), null, null);
                }

                if (error.ValueKind == JsonValueKind.Object)
                {
                    return (Str(error, "message"), Str(error, "code"), Str(error, "type") ?? Str(error, "status"));
                }
            }

            if (root.ValueKind == JsonValueKind.Object && (Str(root, "message") ?? Str(root, "Message")) is { } m)
            {
                return (m, null, Str(root, "__type"));
            }
        }
        catch (JsonException)
        {
            // not JSON: the body itself is the message
        }

        var trimmed = body.Trim();
        return (trimmed.Length > 500 ? trimmed[..500] : trimmed, null, null);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;

    private static double? RetryAfter(HttpResponseHeaders? headers)
    {
        if (headers?.RetryAfter is { } ra)
        {
            if (ra.Delta is { } delta)
            {
                return delta.TotalSeconds;
            }
        }

        if (headers is not null && headers.TryGetValues("retry-after-ms", out var ms) &&
            double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis))
        {
            return millis / 1000;
        }

        return null;
    }
}

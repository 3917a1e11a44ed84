using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Errors;

/// <summary>An OpenAI-shaped error with its HTTP status; the one error result of every OpenAI route.</summary>
public sealed class OpenAiErrorResult(int statusCode, string message, string type, string? param = null, string? code = null) : IResult
{
    public int StatusCode { get; } = statusCode;

    public OpenAiError Error { get; } = new(new OpenAiErrorBody(message, type, param, code));

    /// <summary>Seconds for a Retry-After header (rate limits).</summary>
    public double? RetryAfterSeconds { get; init; }

    /// <summary>
    /// The client is told the request failed, but it may have run (and been charged) or still run: a 504 (the Ingress
    /// stopped waiting), a 502 <c>answer_lost</c>, a stream that was interrupted or stalled. An <c>Idempotency-Key</c>
    /// keeps such an outcome instead of giving the key back, so a repeat never runs the request a second time.
    /// </summary>
    public bool MayHaveRun => OutcomeUnknown.MayHaveRun(StatusCode, Error.Error.Code);

    public static OpenAiErrorResult BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    /// <summary>OpenAI's wording for a parameter of the wrong JSON type.</summary>
    public static OpenAiErrorResult InvalidType(string param, string expected, System.Text.Json.Nodes.JsonNode? got) =>
        BadRequest($"Invalid type for '{param}': expected {expected}, but got {Http.JsonKinds.Describe(got)} instead.", param, "invalid_type");

    public static OpenAiErrorResult Unauthorized(string message) =>
        new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");

    public static OpenAiErrorResult ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound,
            $"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error", "model", "model_not_found");

    public static OpenAiErrorResult Timeout(TimeSpan after) =>
        new(StatusCodes.Status504GatewayTimeout,
            $"Request timed out after {after.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s waiting for a worker",
            "timeout", null, "timeout");

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCode;
        if (MayHaveRun)
        {
            OutcomeUnknown.Mark(httpContext);
        }

        if (RetryAfterSeconds is { } seconds)
        {
            httpContext.Response.Headers.RetryAfter = Math.Ceiling(seconds).ToString(CultureInfo.InvariantCulture);
        }

        await httpContext.Response.WriteAsJsonAsync(Error, IngressJsonContext.Default.OpenAiError, cancellationToken: httpContext.RequestAborted);
    }
}

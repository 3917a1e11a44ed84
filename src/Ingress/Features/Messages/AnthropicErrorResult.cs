using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// An error in Anthropic's shape, <c>{"type":"error","error":{"type","message"}}</c>, with its HTTP status:
/// what the Anthropic SDKs and Claude Code parse on the Messages routes.
/// </summary>
public sealed class AnthropicErrorResult(int statusCode, string type, string message) : IResult
{
    public int StatusCode { get; } = statusCode;

    /// <summary>Anthropic's error type, e.g. <c>invalid_request_error</c>, <c>not_found_error</c>.</summary>
    public string Type { get; } = type;

    public string Message { get; } = message;

    /// <summary>Seconds for a Retry-After header (rate limits).</summary>
    public double? RetryAfterSeconds { get; init; }

    /// <summary>The request may have run although this says it failed (see <see cref="OpenAiErrorResult.MayHaveRun"/>).</summary>
    public bool MayHaveRun { get; init; }

    public static AnthropicErrorResult BadRequest(string message) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", message);

    public static AnthropicErrorResult NotFound(string model) =>
        new(StatusCodes.Status404NotFound, "not_found_error", $"model: {model}");

    /// <summary>The same failure as an OpenAI-shaped error, in Anthropic's words (same status, type by status).</summary>
    public static AnthropicErrorResult From(OpenAiErrorResult error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new AnthropicErrorResult(error.StatusCode, TypeFor(error.StatusCode), error.Error.Error.Message)
        {
            RetryAfterSeconds = error.RetryAfterSeconds,
            MayHaveRun = error.MayHaveRun,
        };
    }

    /// <summary>Anthropic's error type for an HTTP status, as its API documents them.</summary>
    public static string TypeFor(int statusCode) => statusCode switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 or 529 => "overloaded_error",
        408 or >= 500 => "api_error",
        _ => "invalid_request_error",
    };

    /// <summary>The error body: <c>{"type":"error","error":{"type","message"}}</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = Type, ["message"] = Message },
    };

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

        httpContext.Response.ContentType = "application/json";
        await httpContext.Response.WriteAsync(ToJson().ToJsonString(), Encoding.UTF8, httpContext.RequestAborted);
    }
}

using MassTransit;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Errors;

/// <summary>Leftover exceptions become OpenAI-shaped errors: never a stack trace, and the gateway keeps serving.</summary>
public sealed partial class OpenAiExceptionHandler(ILogger<OpenAiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        OpenAiErrorResult result = exception switch
        {
            RequestTimeoutException => new OpenAiErrorResult(StatusCodes.Status504GatewayTimeout, "Request timed out waiting for a worker", "timeout", null, "timeout"),
            BadHttpRequestException bad => new OpenAiErrorResult(bad.StatusCode, bad.Message, "invalid_request_error"),
            // text PostgreSQL cannot store (a NUL character) came from the request: the client's error, not the server's
            Npgsql.PostgresException { SqlState: "22021" or "22P05" } => OpenAiErrorResult.BadRequest(
                "A text value in the request contains a character that cannot be stored (such as NUL, \\u0000).", null, "invalid_value"),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => new OpenAiErrorResult(499, "Client closed the request", "invalid_request_error"),
            _ => new OpenAiErrorResult(StatusCodes.Status500InternalServerError, "Internal server error", "api_error", null, "internal_error"),
        };
        if (result.StatusCode >= 500)
        {
            Unhandled(logger, exception, httpContext.Request.Path);
        }

        // Anthropic's routes answer in Anthropic's shape, whatever failed
        if (httpContext.Request.Path.Value?.Contains("/messages", StringComparison.OrdinalIgnoreCase) == true)
        {
            await Features.Messages.AnthropicErrorResult.From(result).ExecuteAsync(httpContext);
        }
        else
        {
            await result.ExecuteAsync(httpContext);
        }

        return true;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void Unhandled(ILogger logger, Exception exception, string path);
}

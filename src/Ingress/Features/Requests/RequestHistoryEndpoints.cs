using System.Globalization;
using System.Text.Json.Nodes;
using Broker.Contracts.History;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Requests;

/// <summary>
/// <c>GET /request/{id}</c>: a request's attempts (first attempt, retries, fallbacks) by its <c>x-litellm-call-id</c>,
/// asked of Billing over the bus. The admin sees every request; a key only those it made (any other is a 404, so ids
/// of others' requests are not confirmed).
/// </summary>
public static class RequestHistoryEndpoints
{
    /// <summary>How long the Ingress waits for Billing's answer.</summary>
    public static readonly RequestTimeout BillingTimeout = RequestTimeout.After(s: 10);

    private static readonly Dictionary<string, string> NoHeaders = [];

    public static RouteGroupBuilder MapRequestHistory(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/request/{id}", GetAsync).AllowAnyKey();
        return group;
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, IRequestClient<GetRequestHistory> billing)
    {
        if (!Guid.TryParse(id, out var requestId))
        {
            return OpenAiErrorResult.BadRequest($"'{id}' is not a request id (the x-litellm-call-id of an answer)", "id", "invalid_value");
        }

        Response<RequestHistoryFound, RequestHistoryNotFound, RequestHistoryUnavailable> response;
        try
        {
            response = await billing.GetResponse<RequestHistoryFound, RequestHistoryNotFound, RequestHistoryUnavailable>(
                new GetRequestHistory { RequestId = requestId }, http.RequestAborted);
        }
        catch (RequestTimeoutException)
        {
            return new OpenAiErrorResult(StatusCodes.Status503ServiceUnavailable,
                "Billing did not answer for the attempt history in time (is a billing role running?)", "api_error", null, "history_unavailable");
        }

        switch (response.Message)
        {
            case RequestHistoryFound found when MayRead(http, found):
                return new JsonTextResult(ToJson(found).ToJsonString(), NoHeaders);
            case RequestHistoryUnavailable { NotConfigured: true } unavailable:
                return new OpenAiErrorResult(StatusCodes.Status501NotImplemented, unavailable.Reason, "invalid_request_error", null, "history_not_configured");
            case RequestHistoryUnavailable unavailable:
                return new OpenAiErrorResult(StatusCodes.Status503ServiceUnavailable, unavailable.Reason, "api_error", null, "history_unavailable");
            default:
                return new OpenAiErrorResult(StatusCodes.Status404NotFound, $"No request {requestId} is known to you", "invalid_request_error", "id",
                    "request_not_found");
        }
    }

    /// <summary>The admin reads every request; a virtual key those it made; a JWT user without a key those of its user.</summary>
    private static bool MayRead(HttpContext http, RequestHistoryFound found)
    {
        var auth = AuthContext.Of(http);
        if (auth is null || auth.IsAdmin)
        {
            return true;
        }

        return auth.Key is { } key
            ? found.KeyHash == key.TokenHash
            : found.KeyHash is null && auth.Caller?.UserId is { } user && found.UserId == user;
    }

    private static JsonObject ToJson(RequestHistoryFound found)
    {
        var attempts = new JsonArray();
        foreach (var a in found.Attempts)
        {
            attempts.Add(new JsonObject
            {
                ["attempt"] = a.Attempt,
                ["model_group"] = a.ModelGroup,
                ["deployment_id"] = a.DeploymentId,
                ["status"] = Status(a.StatusCode),
                ["status_code"] = a.StatusCode,
                ["error_class"] = a.ErrorClass,
                ["started_at"] = a.StartedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
                ["latency_ms"] = Math.Round(a.LatencyMs, 3),
            });
        }

        var last = found.Attempts[^1];
        return new JsonObject
        {
            ["request_id"] = found.RequestId.ToString(),
            ["model_group"] = found.Attempts[0].OriginalModelGroup,
            // the request's outcome is its last attempt's (an earlier failure was retried or fallen back from)
            ["status"] = found.Attempts.Any(a => a.StatusCode < 400) ? "success" : Status(last.StatusCode),
            ["attempts"] = attempts,
        };
    }

    private static string Status(int statusCode) => statusCode < 400 ? "success" : "failure";
}

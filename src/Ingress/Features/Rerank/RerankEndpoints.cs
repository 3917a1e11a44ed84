using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Idempotency;
using Broker.Ingress.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Rerank;

/// <summary>
/// <c>POST /rerank</c> and <c>/v1/rerank</c>, LiteLLM's rerank route in Cohere's shape: <c>model</c>, <c>query</c>,
/// <c>documents</c> (strings or objects with <c>text</c>), <c>top_n</c>, <c>return_documents</c>; answered with
/// <c>{id, results: [{index, relevance_score, document?}], meta}</c> through the model group's queue, under its
/// limits, budgets and routing like any other request.
/// </summary>
public static class RerankEndpoints
{
    public static RouteGroupBuilder MapRerank(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        // after pass-through endpoints: one configured at /rerank or /v1/rerank takes the route (BrokerRoutes.Yielding)
        group.MapPost("/rerank", CreateRerank).AllowAnyKey().Idempotent().WithOrder(1);
        return group;
    }

    private static async Task<IResult> CreateRerank(HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, InferenceClient inference)
    {
        var cancellationToken = http.RequestAborted;
        var (body, _, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return readError;
        }

        if (Validate(body!) is { } invalid)
        {
            return invalid;
        }

        var model = body!["model"]!.GetValue<string>();
        var group = balancer.Resolve(config.Current, model);
        if (group is null)
        {
            return OpenAiErrorResult.ModelNotFound(model);
        }

        var outcome = await inference.RerankAsync(group, model, body, cancellationToken);
        if (outcome.Error is { } error)
        {
            foreach (var (name, value) in outcome.Headers)
            {
                http.Response.Headers[name] = value;
            }

            return error;
        }

        return new JsonTextResult(outcome.Body!, outcome.Headers);
    }

    /// <summary>Cohere's checks: model; a non-empty query; documents as a non-empty list of strings or objects; top_n; return_documents.</summary>
    public static OpenAiErrorResult? Validate(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body["model"] is not JsonValue model || model.GetValueKind() != JsonValueKind.String)
        {
            return OpenAiErrorResult.BadRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        if (body["query"] is not JsonValue query || query.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(query.GetValue<string>()))
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'query' (a non-empty string).", "query", "missing_required_parameter");
        }

        switch (body["documents"])
        {
            case null:
                return OpenAiErrorResult.BadRequest("Missing required parameter: 'documents'.", "documents", "missing_required_parameter");
            case JsonArray { Count: 0 }:
                return OpenAiErrorResult.BadRequest("Invalid 'documents': empty array. Expected an array with minimum length 1.", "documents", "empty_array");
            case JsonArray list when list.All(d => d is JsonObject || d is JsonValue v && v.GetValueKind() == JsonValueKind.String):
                break;
            default:
                return OpenAiErrorResult.BadRequest("Invalid type for 'documents': expected an array of strings or of objects with a 'text'.",
                    "documents", "invalid_type");
        }

        if (body["top_n"] is { } topN && !(topN is JsonValue n && n.TryGetValue<int>(out var count) && count > 0))
        {
            return OpenAiErrorResult.BadRequest("Invalid 'top_n': expected a positive integer.", "top_n", "invalid_value");
        }

        if (body["return_documents"] is { } returned && !(returned is JsonValue r && r.GetValueKind() is JsonValueKind.True or JsonValueKind.False))
        {
            return OpenAiErrorResult.BadRequest("Invalid 'return_documents': expected a boolean.", "return_documents", "invalid_type");
        }

        return null;
    }
}

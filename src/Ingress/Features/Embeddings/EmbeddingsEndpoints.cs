using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Caching;
using Broker.Ingress.Errors;
using Broker.Ingress.Guardrails;
using Broker.Ingress.Http;
using Broker.Ingress.Idempotency;
using Broker.Ingress.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Embeddings;

public static class EmbeddingsEndpoints
{
    public static RouteGroupBuilder MapEmbeddings(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/embeddings", CreateEmbedding).AllowAnyKey().Idempotent();
        return group;
    }

    private static async Task<IResult> CreateEmbedding(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, CachedInference inference, GuardrailPipeline guardrails)
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

        // pre_call guardrails read (and may mask) the input before anything is queued; post_call ones cannot apply (refused)
        var guard = await guardrails.StartAsync(http, body, GuardrailShape.Embeddings, cancellationToken);
        if (guard.Error is { } refused)
        {
            return refused;
        }

        var outcome = await inference.EmbedAsync(http, group, model, body, cancellationToken);
        if (outcome.Error is { } error)
        {
            // the provider failed: the during_call decisions still go to the request's spend log row
            guard.Finish(outcome.RequestId);
            foreach (var (name, value) in outcome.Headers)
            {
                http.Response.Headers[name] = value;
            }

            return error;
        }

        // during_call guardrails must have passed before the vectors are given out
        if (await guard.CheckAnswerAsync(null, GuardrailShape.Embeddings, outcome.RequestId, cancellationToken) is { } duringRefused)
        {
            return duringRefused;
        }

        return new JsonTextResult(outcome.Body!, outcome.Headers);
    }

    /// <summary>OpenAI's checks: model; input as a string, strings, tokens or token lists; encoding_format; dimensions.</summary>
    public static OpenAiErrorResult? Validate(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body["model"] is not JsonValue model || model.GetValueKind() != JsonValueKind.String)
        {
            return OpenAiErrorResult.BadRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        switch (body["input"])
        {
            case null:
                return OpenAiErrorResult.BadRequest("Missing required parameter: 'input'.", "input", "missing_required_parameter");
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                break;
            case JsonArray { Count: 0 }:
                return OpenAiErrorResult.BadRequest("Invalid 'input': empty array. Expected an array with minimum length 1.", "input", "empty_array");
            case JsonArray list when list.All(IsString) || list.All(IsInteger) || list.All(i => i is JsonArray tokens && tokens.All(IsInteger)):
                break;
            default:
                return OpenAiErrorResult.BadRequest(
                    "Invalid type for 'input': expected a string, an array of strings, an array of tokens or an array of token arrays.",
                    "input", "invalid_type");
        }

        if (body["encoding_format"] is { } format &&
            !(format is JsonValue f && f.TryGetValue<string>(out var name) && name is "float" or "base64"))
        {
            return OpenAiErrorResult.BadRequest(
                $"Invalid value: {format.ToJsonString()}. Supported values are: 'float' and 'base64'.", "encoding_format", "invalid_value");
        }

        if (body["dimensions"] is { } dimensions &&
            !(dimensions is JsonValue d && d.TryGetValue<int>(out var n) && n > 0))
        {
            return OpenAiErrorResult.BadRequest("Invalid 'dimensions': expected a positive integer.", "dimensions", "invalid_value");
        }

        return null;
    }

    private static bool IsString(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;

    private static bool IsInteger(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out _);
}

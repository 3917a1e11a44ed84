using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Caching;
using Broker.Ingress.Errors;
using Broker.Ingress.Guardrails;
using Broker.Ingress.Http;
using Broker.Ingress.Inference;
using Broker.Ingress.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Responses;

/// <summary>
/// OpenAI's Responses API on top of chat completions: the request is translated, sent through the model group's
/// queue like any chat completion, and the answer (or the chunk stream) is turned back into a response.
/// Nothing is stored, so retrieving, cancelling or deleting a response is answered with a 400.
/// </summary>
public static class ResponsesEndpoints
{
    public static RouteGroupBuilder MapResponses(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/responses", CreateResponse).AllowAnyKey();
        group.MapGet("/responses/{id}", NotStored).AllowAnyKey();
        group.MapDelete("/responses/{id}", NotStored).AllowAnyKey();
        group.MapPost("/responses/{id}/cancel", NotStored).AllowAnyKey();
        group.MapGet("/responses/{id}/input_items", NotStored).AllowAnyKey();
        return group;
    }

    private static OpenAiErrorResult NotStored(string id) =>
        OpenAiErrorResult.BadRequest(
            $"Response '{id}' cannot be retrieved: Broker does not store responses (it answers as if 'store' were false).",
            "response_id", "unsupported_parameter");

    private static async Task<IResult> CreateResponse(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, InferenceClient inference, CachedInference cached, IngressOptions options, TimeProvider timeProvider,
        GuardrailPipeline guardrails)
    {
        var cancellationToken = http.RequestAborted;
        var (body, _, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return readError;
        }

        var (chat, invalid) = ResponsesRequestTranslator.Translate(body!);
        if (invalid is not null)
        {
            return invalid;
        }

        var model = body!["model"]!.GetValue<string>();
        var group = balancer.Resolve(config.Current, model);
        if (group is null)
        {
            return OpenAiErrorResult.ModelNotFound(model);
        }

        // the guardrails are chosen from the client's body and run on the translated chat (pre_call may mask it) before anything is queued
        var guard = await guardrails.StartAsync(http, body, chat!, GuardrailShape.OpenAiChat, cancellationToken);
        if (guard.Error is { } refused)
        {
            return refused;
        }

        var id = ResponseObject.NewId("resp");
        var createdAt = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (chat!["stream"] is JsonValue stream && stream.GetValue<bool>())
        {
            var (chunks, record) = await cached.StreamAsync(http, CacheCallType.Responses, group, model, body, chat, cancellationToken);
            return await SseStreamResult.WriteAsync(http, chunks, record(new ResponsesSseFormat(body, id, createdAt)), inference, options, timeProvider,
                guard.StreamGate(GuardrailShape.OpenAiChat));
        }

        var outcome = await cached.CompleteAsync(http, CacheCallType.Responses, group, model, body, chat, null, cancellationToken);
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

        // during_call guardrails must have passed; post_call ones see (and may rewrite) the answer
        if (await guard.CheckAnswerAsync(outcome.Completion, GuardrailShape.OpenAiChat, outcome.RequestId, cancellationToken) is { } answerRefused)
        {
            return answerRefused;
        }

        var response = ResponseObject.FromChatCompletion(body, outcome.Completion!, id, createdAt);
        return new JsonTextResult(response.ToJsonString(), outcome.Headers);
    }
}

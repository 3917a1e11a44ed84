using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Caching;
using Broker.Ingress.Errors;
using Broker.Ingress.Guardrails;
using Broker.Ingress.Http;
using Broker.Ingress.Idempotency;
using Broker.Ingress.Inference;
using Broker.Ingress.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.ChatCompletions;

public static class ChatCompletionsEndpoints
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/chat/completions", CreateChatCompletion).AllowAnyKey().Idempotent();
        return group;
    }

    private static async Task<IResult> CreateChatCompletion(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, InferenceClient inference, CachedInference cached, IngressOptions options, TimeProvider timeProvider,
        GuardrailPipeline guardrails)
    {
        var cancellationToken = http.RequestAborted;
        var (body, text, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return readError;
        }

        if (ChatCompletionRequestValidator.Validate(body!) is { } invalid)
        {
            return invalid;
        }

        var model = body!["model"]!.GetValue<string>();
        var group = balancer.Resolve(config.Current, model);
        if (group is null)
        {
            return OpenAiErrorResult.ModelNotFound(model);
        }

        // pre_call guardrails run (and may rewrite the body) before anything is queued
        var guard = await guardrails.StartAsync(http, body, GuardrailShape.OpenAiChat, cancellationToken);
        if (guard.Error is { } refused)
        {
            return refused;
        }

        if (body["stream"] is JsonValue stream && stream.GetValue<bool>())
        {
            var includeUsage = body["stream_options"] is JsonObject streamOptions && streamOptions["include_usage"] is JsonValue u && u.TryGetValue<bool>(out var b) && b;
            var (chunks, record) = await cached.StreamAsync(http, CacheCallType.Chat, group, model, body, body, cancellationToken);
            return await SseStreamResult.WriteAsync(http, chunks, record(new OpenAiChatSseFormat(includeUsage)), inference, options, timeProvider,
                guard.StreamGate(GuardrailShape.OpenAiChat));
        }

        var outcome = await cached.CompleteAsync(http, CacheCallType.Chat, group, model, body, body, guard.BodyChanged ? null : text, cancellationToken);
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

        if (guard.Selected.Count == 0)
        {
            return new JsonTextResult(outcome.Body!, outcome.Headers);
        }

        // during_call guardrails must have passed; post_call ones see (and may rewrite) the answer
        if (await guard.CheckAnswerAsync(outcome.Completion, GuardrailShape.OpenAiChat, outcome.RequestId, cancellationToken) is { } answerRefused)
        {
            return answerRefused;
        }

        return new JsonTextResult(outcome.Completion!.ToJsonString(), outcome.Headers);
    }
}

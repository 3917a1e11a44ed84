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
using Broker.Ingress.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Completions;

/// <summary>
/// OpenAI's legacy text completions on top of chat completions: each prompt becomes one user message sent through
/// the model group's queue; the answers come back as <c>text_completion</c> choices.
/// </summary>
public static class CompletionsEndpoints
{
    public static RouteGroupBuilder MapCompletions(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/completions", CreateCompletion).AllowAnyKey().Idempotent();
        return group;
    }

    private static async Task<IResult> CreateCompletion(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, InferenceClient inference, CachedInference cached, IngressOptions options, TimeProvider timeProvider,
        GuardrailPipeline guardrails)
    {
        var cancellationToken = http.RequestAborted;
        var (body, _, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return readError;
        }

        var (chats, invalid) = CompletionRequestTranslator.Translate(body!);
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

        // the guardrails are chosen from the client's body and run on each prompt's chat (pre_call may mask it) before anything is queued
        var guards = new List<GuardrailRun>(chats!.Count);
        foreach (var chat in chats)
        {
            var guard = await guardrails.StartAsync(http, body, chat, GuardrailShape.OpenAiChat, cancellationToken);
            if (guard.Error is { } refused)
            {
                return refused;
            }

            guards.Add(guard);
        }

        var id = TextCompletionObject.NewId();
        var createdAt = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (chats![0]["stream"] is JsonValue stream && stream.GetValue<bool>())
        {
            var includeUsage = body["stream_options"] is JsonObject streamOptions && streamOptions["include_usage"] is JsonValue u && u.GetValueKind() == JsonValueKind.True;
            var (chunks, record) = await cached.StreamAsync(http, CacheCallType.TextCompletion, group, model, body, chats[0], cancellationToken);
            return await SseStreamResult.WriteAsync(http, chunks, record(new TextCompletionSseFormat(id, createdAt, includeUsage)), inference, options, timeProvider,
                guards[0].StreamGate(GuardrailShape.OpenAiChat));
        }

        // a batch of prompts is one request per prompt, through the same queue, answered together
        var outcomes = await Task.WhenAll(chats.Select(chat => cached.CompleteAsync(http, CacheCallType.TextCompletion, group, model, body, chat, null, cancellationToken)));
        var headers = outcomes[0].Headers;
        if (outcomes.FirstOrDefault(o => o.Error is not null) is { } failed)
        {
            // every prompt's during_call decisions still go to its spend log row
            FinishAll(guards, outcomes);
            foreach (var (name, value) in failed.Headers)
            {
                http.Response.Headers[name] = value;
            }

            return failed.Error!;
        }

        // during_call guardrails must have passed; post_call ones see (and may rewrite) each prompt's answer
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (await guards[i].CheckAnswerAsync(outcomes[i].Completion, GuardrailShape.OpenAiChat, outcomes[i].RequestId, cancellationToken) is { } answerRefused)
            {
                // the prompts after it are not checked: their during_call decisions still go to their rows
                FinishAll(guards, outcomes);
                return answerRefused;
            }
        }

        var completion = TextCompletionObject.FromChatCompletions(outcomes.Select(o => o.Completion!).ToList(), id, createdAt);
        return new JsonTextResult(completion.ToJsonString(), headers);
    }

    private static void FinishAll(List<GuardrailRun> guards, ChatCompletionOutcome[] outcomes)
    {
        for (var i = 0; i < outcomes.Length; i++)
        {
            guards[i].Finish(outcomes[i].RequestId);
        }
    }
}

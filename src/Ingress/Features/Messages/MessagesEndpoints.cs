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

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// Anthropic's Messages API (<c>POST /v1/messages</c>, streamed or not, and <c>/v1/messages/count_tokens</c>)
/// in front of the same group queues as chat completions: requests are translated to OpenAI's format, answers
/// and errors back to Anthropic's. Query strings (Claude Code's <c>?beta=true</c>) are accepted.
/// </summary>
public static class MessagesEndpoints
{
    /// <summary>Anthropic's request id header (the SDKs expose it on answers and errors): Broker's call id.</summary>
    private const string RequestIdHeader = "request-id";

    /// <summary>CreateChatCompletion.Format for a Messages body passed through to Anthropic deployments.</summary>
    private const string PassThroughFormat = "anthropic";

    /// <summary>Maps the Messages routes with and without <c>/v1</c>, with the master key check in Anthropic's error shape.</summary>
    public static IEndpointRouteBuilder MapMessages(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        foreach (var prefix in new[] { "/v1", "" })
        {
            var group = app.MapGroup(prefix).CheckCallers<AnthropicKeyFilter>();
            group.MapPost("/messages", CreateMessage).AllowAnyKey().Idempotent(AnthropicErrorResult.From);
            group.MapPost("/messages/count_tokens", CountTokens).AllowAnyKey();
        }

        return app;
    }

    private static async Task<IResult> PassThroughAsync(
        HttpContext http, Config.Model.ModelGroup group, string model, JsonObject body, InferenceClient inference, IngressOptions options, TimeProvider timeProvider,
        GuardrailRun guard)
    {
        var cancellationToken = http.RequestAborted;
        if (body["stream"] is JsonValue stream && stream.TryGetValue<bool>(out var streamed) && streamed)
        {
            var events = await inference.StreamAsync(group, model, body, cancellationToken, PassThroughFormat);
            events.Headers[RequestIdHeader] = RequestId(events.RequestId.ToString());
            var result = await SseStreamResult.WriteAsync(http, events, new AnthropicPassThroughSseFormat(model), inference, options, timeProvider,
                guard.StreamGate(GuardrailShape.Anthropic));
            return result is OpenAiErrorResult failed ? AnthropicErrorResult.From(failed) : result;
        }

        var outcome = await inference.CompleteAsync(group, model, body.ToJsonString(), null, inference.Timeout, cancellationToken, PassThroughFormat);
        var headers = new Dictionary<string, string>(outcome.Headers, StringComparer.Ordinal)
        {
            [RequestIdHeader] = RequestId(outcome.Headers.GetValueOrDefault("x-litellm-call-id") ?? Guid.NewGuid().ToString()),
        };
        if (outcome.Error is { } error)
        {
            // the provider failed: the during_call decisions still go to the request's spend log row
            guard.Finish(outcome.RequestId);
            foreach (var (name, value) in headers)
            {
                http.Response.Headers[name] = value;
            }

            return AnthropicErrorResult.From(error);
        }

        // the answer names the model the client asked for, as on the translated path
        var message = outcome.Completion!;
        message["model"] = model;
        if (await guard.CheckAnswerAsync(message, GuardrailShape.Anthropic, outcome.RequestId, cancellationToken) is { } answerRefused)
        {
            return AnthropicErrorResult.From(answerRefused);
        }

        return new JsonTextResult(message.ToJsonString(), headers);
    }

    private static async Task<IResult> CreateMessage(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, InferenceClient inference, CachedInference cached, IngressOptions options, TimeProvider timeProvider,
        GuardrailPipeline guardrails)
    {
        var cancellationToken = http.RequestAborted;
        var (body, read) = await ReadAsync(http, config, requireMaxTokens: true);
        if (body is null)
        {
            return read!;
        }

        var model = body["model"]!.GetValue<string>();
        var group = balancer.Resolve(config.Current, model);
        if (group is null)
        {
            return AnthropicErrorResult.NotFound(model);
        }

        // pre_call guardrails run (and may rewrite the body) before anything is queued or translated
        var guard = await guardrails.StartAsync(http, body, GuardrailShape.Anthropic, cancellationToken);
        if (guard.Error is { } refused)
        {
            return AnthropicErrorResult.From(refused);
        }

        // a group of Anthropic deployments (with Anthropic fallbacks only) gets the request as it is: nothing lost in translation
        if (AnthropicPassThroughRule.Applies(config.Current, group, body))
        {
            return await PassThroughAsync(http, group, model, body, inference, options, timeProvider, guard);
        }

        var request = AnthropicMessagesTranslator.ToOpenAiRequest(body);
        if (request["stream"] is JsonValue stream && stream.TryGetValue<bool>(out var streamed) && streamed)
        {
            var (chunks, record) = await cached.StreamAsync(http, CacheCallType.Messages, group, model, body, request, cancellationToken);
            chunks.Headers[RequestIdHeader] = RequestId(chunks.RequestId.ToString());
            var format = new AnthropicSseFormat("msg_" + chunks.RequestId.ToString("N"), model, MessagesTokenCounter.Count(request, cancellationToken));
            var result = await SseStreamResult.WriteAsync(http, chunks, record(format), inference, options, timeProvider,
                guard.StreamGate(GuardrailShape.OpenAiChat));
            return result is OpenAiErrorResult failed ? AnthropicErrorResult.From(failed) : result;
        }

        var outcome = await cached.CompleteAsync(http, CacheCallType.Messages, group, model, body, request, null, cancellationToken);
        var headers = new Dictionary<string, string>(outcome.Headers, StringComparer.Ordinal)
        {
            [RequestIdHeader] = RequestId(outcome.Headers.GetValueOrDefault("x-litellm-call-id") ?? Guid.NewGuid().ToString()),
        };
        if (outcome.Error is { } error)
        {
            // the provider failed: the during_call decisions still go to the request's spend log row
            guard.Finish(outcome.RequestId);
            foreach (var (name, value) in headers)
            {
                http.Response.Headers[name] = value;
            }

            return AnthropicErrorResult.From(error);
        }

        if (await guard.CheckAnswerAsync(outcome.Completion, GuardrailShape.OpenAiChat, outcome.RequestId, cancellationToken) is { } answerRefused)
        {
            return AnthropicErrorResult.From(answerRefused);
        }

        var message = AnthropicMessagesTranslator.ToAnthropicMessage(outcome.Completion!, model);
        return new JsonTextResult(message.ToJsonString(), headers);
    }

    private static string RequestId(string callId) => "req_" + callId.Replace("-", "", StringComparison.Ordinal);

    private static async Task<IResult> CountTokens(HttpContext http, IProxyConfigProvider config)
    {
        var (body, read) = await ReadAsync(http, config, requireMaxTokens: false);
        if (body is null)
        {
            return read!;
        }

        // no deployment is asked: the count is Broker's own, so any model name is accepted
        var count = MessagesTokenCounter.Count(AnthropicMessagesTranslator.ToOpenAiRequest(body), http.RequestAborted);
        return new JsonTextResult(new JsonObject { ["input_tokens"] = count }.ToJsonString(), new Dictionary<string, string>());
    }

    private static async Task<(JsonObject? Body, AnthropicErrorResult? Error)> ReadAsync(HttpContext http, IProxyConfigProvider config, bool requireMaxTokens)
    {
        var (body, _, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return (null, AnthropicErrorResult.From(readError));
        }

        return MessagesRequestValidator.Validate(body!, requireMaxTokens) is { } invalid ? (null, invalid) : (body, null);
    }
}

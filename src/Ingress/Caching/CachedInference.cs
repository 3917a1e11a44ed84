using Broker.Ingress.Auth;
using System.Globalization;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Ingress.Inference;
using Broker.Ingress.Streaming;
using MassTransit;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Caching;

/// <summary>
/// The inference calls of the routes, with the response cache in front: a hit is answered here (never queued),
/// with <c>x-litellm-cache-key</c> and <c>x-litellm-cache-hit: true</c>; a miss goes to the queue and its answer
/// is stored. With the cache off this adds nothing but a null check.
/// </summary>
public sealed class CachedInference(InferenceClient inference, ResponseCache cache, TimeProvider timeProvider)
{
    public const string KeyHeader = "x-litellm-cache-key";

    public const string HitHeader = "x-litellm-cache-hit";

    /// <summary>
    /// A non-streamed chat completion. <paramref name="clientBody"/> holds the cache controls; <paramref name="request"/>
    /// is what goes to the queue (given as <paramref name="requestText"/> when the caller has it as text already).
    /// </summary>
    public async Task<ChatCompletionOutcome> CompleteAsync(
        HttpContext http, CacheCallType callType, ModelGroup group, string model, JsonObject clientBody, JsonObject request, string? requestText,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = Plan(http, callType, group, clientBody, request, ref requestText);
        if (plan is null)
        {
            return requestText is null
                ? await inference.CompleteAsync(group, model, request, cancellationToken)
                : await inference.CompleteAsync(group, model, requestText, cancellationToken);
        }

        var started = timeProvider.GetTimestamp();
        if (await cache.LookupAsync(plan, cancellationToken) is { } hit)
        {
            var outcome = new ChatCompletionOutcome(hit.Body, null, HitHeaders(plan, group, started, out var requestId));
            cache.RecordHit(plan, requestId, outcome.Completion?["usage"] as JsonObject, timeProvider.GetElapsedTime(started).TotalMilliseconds, http.GetCaller(),
                Guardrails.GuardrailRun.PreCallOutcomes(http));
            return outcome;
        }

        var answer = await inference.CompleteAsync(group, model, requestText ?? request.ToJsonString(), cancellationToken);
        return Missed(plan, answer);
    }

    /// <summary>Embeddings, with the cache in front (the key covers input, dimensions and encoding_format).</summary>
    public async Task<ChatCompletionOutcome> EmbedAsync(HttpContext http, ModelGroup group, string model, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? text = null;
        var plan = Plan(http, CacheCallType.Embedding, group, request, request, ref text);
        if (plan is null)
        {
            return await inference.EmbedAsync(group, model, request, cancellationToken);
        }

        var started = timeProvider.GetTimestamp();
        if (await cache.LookupAsync(plan, cancellationToken) is { } hit)
        {
            var outcome = new ChatCompletionOutcome(hit.Body, null, HitHeaders(plan, group, started, out var requestId));
            cache.RecordHit(plan, requestId, outcome.Completion?["usage"] as JsonObject, timeProvider.GetElapsedTime(started).TotalMilliseconds, http.GetCaller(),
                Guardrails.GuardrailRun.PreCallOutcomes(http));
            return outcome;
        }

        return Missed(plan, await inference.EmbedAsync(group, model, request, cancellationToken));
    }

    /// <summary>
    /// A streamed chat completion: from the cache (the stored completion replayed as chunks) or from the queue.
    /// Wrap the route's format with <c>Wrap</c>, so a streamed answer is stored once it is complete.
    /// </summary>
    public async Task<(ChatCompletionStream Stream, Func<ISseFormat, ISseFormat> Wrap)> StreamAsync(
        HttpContext http, CacheCallType callType, ModelGroup group, string model, JsonObject clientBody, JsonObject request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? text = null;
        var plan = Plan(http, callType, group, clientBody, request, ref text);
        if (plan is null)
        {
            return (await inference.StreamAsync(group, model, request, cancellationToken), static f => f);
        }

        var started = timeProvider.GetTimestamp();
        if (await cache.LookupAsync(plan, cancellationToken) is { } hit && JsonNode.Parse(hit.Body) is JsonObject completion)
        {
            var requestId = NewId.NextGuid();
            var stream = new ChatCompletionStream(requestId, group.Name, "", static _ => ValueTask.CompletedTask);
            stream.Headers.Remove("x-broker-queue");
            stream.Headers["x-litellm-model-id"] = "cache";
            stream.Headers[KeyHeader] = plan.Key;
            stream.Headers[HitHeader] = "true";
            stream.Deliver(new Contracts.Inference.ChatCompletionChunksStreamed
            {
                RequestId = requestId,
                Sequence = 0,
                Chunks = CompletionChunks.From(completion),
                IsLast = true,
            });
            cache.RecordHit(plan, requestId, completion["usage"] as JsonObject, timeProvider.GetElapsedTime(started).TotalMilliseconds, http.GetCaller(),
                Guardrails.GuardrailRun.PreCallOutcomes(http));
            return (stream, static f => f);
        }

        var live = await inference.StreamAsync(group, model, request, cancellationToken);
        live.Headers[KeyHeader] = plan.Key;
        return (live, format => new RecordingSseFormat(format, cache, plan));
    }

    private CachePlan? Plan(HttpContext http, CacheCallType callType, ModelGroup group, JsonObject clientBody, JsonObject request, ref string? requestText)
    {
        var plan = cache.IsActive ? cache.Plan(http, callType, group, clientBody, request) : null;
        // the cache controls are Broker's business, never the provider's
        if (request.Remove("cache"))
        {
            requestText = null;
        }

        return plan;
    }

    private ChatCompletionOutcome Missed(CachePlan plan, ChatCompletionOutcome answer)
    {
        var headers = new Dictionary<string, string>(answer.Headers, StringComparer.Ordinal) { [KeyHeader] = plan.Key };
        if (answer.Error is null && answer.Body is not null)
        {
            cache.Save(plan, answer.Body);
        }

        return new ChatCompletionOutcome(answer.Body, answer.Error, headers);
    }

    private Dictionary<string, string> HitHeaders(CachePlan plan, ModelGroup group, long started, out Guid requestId)
    {
        requestId = NewId.NextGuid();
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KeyHeader] = plan.Key,
            [HitHeader] = "true",
            ["x-litellm-model-id"] = "cache",
            ["x-litellm-model-group"] = group.Name,
            ["x-litellm-call-id"] = requestId.ToString(),
            ["x-litellm-response-duration-ms"] = timeProvider.GetElapsedTime(started).TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
        };
    }
}

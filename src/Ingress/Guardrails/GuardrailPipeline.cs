using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// Chooses a request's guardrails (default_on, the request's <c>guardrails</c> / <c>metadata.guardrails</c>, the key's
/// and team's metadata <c>guardrails</c>), runs pre_call ones before anything is queued and starts the during_call ones;
/// the returned <see cref="GuardrailRun"/> does the rest on the answer. A name nobody configured is refused (fail closed).
/// </summary>
public sealed class GuardrailPipeline(
    IProxyConfigProvider config, IEnumerable<IGuardrail> guardrails, GuardrailMetrics metrics, TimeProvider time, ILogger<GuardrailPipeline> logger,
    MassTransit.IBus? bus = null)
{
    private readonly FrozenDictionary<string, IGuardrail> _byKind = guardrails.ToFrozenDictionary(g => g.Kind, StringComparer.Ordinal);

    /// <summary>Selects and starts the guardrails of one request; <see cref="GuardrailRun.Error"/> set means refuse it with that.</summary>
    public Task<GuardrailRun> StartAsync(HttpContext http, JsonObject body, GuardrailShape shape, CancellationToken cancellationToken) =>
        StartAsync(http, body, body, shape, cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(HttpContext, JsonObject, GuardrailShape, CancellationToken)"/> for a route that translates its
    /// request: the guardrails are chosen from <paramref name="request"/> (the client's body) and read and mask the texts of
    /// <paramref name="textBody"/> (the translated body that is sent). A selected guardrail whose mode cannot run on
    /// <paramref name="shape"/> (post_call on embeddings) refuses the request.
    /// </summary>
    public async Task<GuardrailRun> StartAsync(HttpContext http, JsonObject request, JsonObject textBody, GuardrailShape shape, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(textBody);
        var body = textBody;
        var definitions = config.Current.Guardrails;
        var (requested, invalid) = Requested(http, request);
        if (invalid is not null)
        {
            return GuardrailRun.Refused(invalid);
        }

        var unknown = requested.Where(n => !definitions.Any(d => d.Name == n)).ToList();
        if (unknown.Count > 0)
        {
            return GuardrailRun.Refused(GuardrailErrors.Unknown(unknown, definitions.Select(d => d.Name).Distinct()));
        }

        var selected = definitions.Where(d => d.DefaultOn || requested.Contains(d.Name)).ToList();
        if (selected.Count == 0)
        {
            return GuardrailRun.None;
        }

        if (shape == GuardrailShape.Embeddings && selected.Where(d => d.Modes.HasFlag(GuardrailModes.PostCall)).Select(d => d.Name).ToList() is { Count: > 0 } postCall)
        {
            return GuardrailRun.Refused(GuardrailErrors.NotApplicable(postCall, "post_call checks an answer's text and an embedding answer has none"));
        }

        var run = new GuardrailRun(this, selected, http.GetCaller());
        http.Items[typeof(GuardrailRun)] = run;
        http.Response.Headers["x-litellm-applied-guardrails"] = string.Join(",", selected.Select(d => d.Name).Distinct());
        var slots = TextSlots.OfRequest(body, shape);
        if (shape == GuardrailShape.Embeddings && body["input"] is JsonArray input && input.Count > 0 && slots.Count == 0)
        {
            return GuardrailRun.Refused(GuardrailErrors.NotApplicable(selected.Select(d => d.Name).Distinct(), "the input is token ids, which a guardrail cannot read; send text"));
        }

        foreach (var definition in selected.Where(d => d.Modes.HasFlag(GuardrailModes.PreCall)))
        {
            var verdict = await RunAsync(run, definition, "pre_call", GuardrailPhase.Request, slots.Texts(), cancellationToken);
            if (GuardrailRun.Refusal(definition, GuardrailPhase.Request, verdict) is { } refused)
            {
                run.Error = refused;
                PublishRefusal(http, request, run, verdict.Action);
                return run;
            }

            if (verdict is { Action: GuardrailAction.Masked, Texts: { } texts })
            {
                run.BodyChanged |= slots.Write(texts);
            }
        }

        var during = selected.Where(d => d.Modes.HasFlag(GuardrailModes.DuringCall)).ToList();
        if (during.Count > 0)
        {
            var texts = slots.Texts();
            // beside the provider call: the request has left once these run; the answer waits for them (GuardrailRun.CheckAnswerAsync)
            run.During = Task.WhenAll(during.Select(async d => (d, await RunAsync(run, d, "during_call", GuardrailPhase.Request, texts, CancellationToken.None))));
        }

        return run;
    }

    /// <summary>
    /// A request refused before it was queued still gets its spend log row (cost 0, status failure, error_class
    /// <c>guardrail_blocked</c> or <c>guardrail_unavailable</c>) with the decisions, published without holding up the answer.
    /// </summary>
    private void PublishRefusal(HttpContext http, JsonObject request, GuardrailRun run, GuardrailAction action)
    {
        if (bus is null)
        {
            return;
        }

        var outcomes = run.Outcomes();
        var message = new Contracts.Usage.UsageRecorded
        {
            RequestId = MassTransit.NewId.NextGuid(),
            ModelGroup = request["model"] is JsonValue model && model.GetValueKind() == JsonValueKind.String ? model.GetValue<string>() : "",
            DeploymentId = "",
            Provider = "",
            PromptTokens = 0,
            CompletionTokens = 0,
            LatencyMs = outcomes.Sum(o => o.LatencyMs),
            Succeeded = false,
            ErrorClass = action == GuardrailAction.Blocked ? GuardrailErrors.BlockedCode : "guardrail_unavailable",
            CompletedAt = time.GetUtcNow(),
            Caller = http.GetCaller(),
            Cost = 0m,
            Guardrails = outcomes,
        };
        _ = PublishAsync(message);
    }

    private async Task PublishAsync(Contracts.Usage.UsageRecorded message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
            await bus!.Publish(message, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.RefusalNotPublished(logger, message.RequestId, ex.GetType().Name + ": " + ex.Message);
        }
    }

    /// <summary>
    /// Publishes the during_call and post_call decisions of <paramref name="run"/> for the spend log row of
    /// <paramref name="requestId"/>, after waiting (at most 30 s) for during_call guardrails still running; never holds up
    /// the answer, and a bus that cannot take the event costs the row those decisions only (they are in the metrics).
    /// </summary>
    internal async Task PublishDecidedAsync(GuardrailRun run, Guid requestId)
    {
        if (bus is null)
        {
            return;
        }

        try
        {
            if (run.During is { } during)
            {
                // a failed provider or a client that left ends the request before the during_call guardrails decided
                await during.WaitAsync(TimeSpan.FromSeconds(30), time);
            }

            var outcomes = run.Outcomes().Where(o => o.Mode != "pre_call").ToList();
            if (outcomes.Count == 0)
            {
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
            await bus.Publish(new Contracts.Usage.GuardrailsDecided { RequestId = requestId, Guardrails = outcomes, DecidedAt = time.GetUtcNow() }, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.DecisionsNotPublished(logger, requestId, ex.GetType().Name + ": " + ex.Message);
        }
    }

    /// <summary>
    /// The guardrails that apply to every request of the caller whatever its body says (default_on, the key's and the team's),
    /// for routes that cannot run them (batch lines run later, outside the request): such a route refuses instead.
    /// </summary>
    public IReadOnlyList<string> Pinned(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (names, _) = Requested(http, []);
        return [.. config.Current.Guardrails.Where(d => d.DefaultOn).Select(d => d.Name).Concat(names).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>Runs one guardrail and records its decision; an exception of a guardrail counts as unavailable (fail closed).</summary>
    internal async Task<GuardrailVerdict> RunAsync(
        GuardrailRun run, GuardrailDefinition definition, string mode, GuardrailPhase phase, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        GuardrailVerdict verdict;
        if (!_byKind.TryGetValue(definition.Guardrail, out var guardrail))
        {
            verdict = GuardrailVerdict.Unavailable($"no implementation of {definition.Guardrail}");
        }
        else
        {
            try
            {
                verdict = await guardrail.RunAsync(new GuardrailCall(definition, phase, texts, run.Session, run.Caller), cancellationToken);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                verdict = GuardrailVerdict.Unavailable("the check took too long on this text");
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or KeyNotFoundException)
            {
                verdict = GuardrailVerdict.Unavailable(ex.GetType().Name);
            }
        }

        var decision = new GuardrailDecision(definition.Name, definition.Guardrail, mode, verdict.Action, time.GetElapsedTime(started).TotalMilliseconds);
        run.Add(decision);
        metrics.Record(decision);
        switch (verdict.Action)
        {
            case GuardrailAction.Blocked:
                Log.Blocked(logger, definition.Name, definition.Guardrail, mode, verdict.Reason ?? "");
                break;
            case GuardrailAction.Unavailable:
                Log.Unavailable(logger, definition.Name, definition.Guardrail, mode, verdict.Reason ?? "");
                break;
        }

        return verdict;
    }

    /// <summary>The names asked for by the request (<c>guardrails</c>, <c>metadata.guardrails</c>) and by the key's and team's metadata.</summary>
    private static (HashSet<string> Names, OpenAiErrorResult? Error) Requested(HttpContext http, JsonObject body)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (!AddNames(names, body["guardrails"]))
        {
            return (names, OpenAiErrorResult.InvalidType("guardrails", "a list of guardrail names", body["guardrails"]));
        }

        if (body["metadata"] is JsonObject metadata && !AddNames(names, metadata["guardrails"]))
        {
            return (names, OpenAiErrorResult.InvalidType("metadata.guardrails", "a list of guardrail names", metadata["guardrails"]));
        }

        var auth = AuthContext.Of(http);
        AddFromMetadata(names, auth?.Key?.Metadata);
        AddFromMetadata(names, auth?.Team?.Metadata);
        return (names, null);
    }

    /// <summary>Adds a list of names (or LiteLLM's map form <c>{name: {...}}</c>); false when the value is neither.</summary>
    internal static bool AddNames(HashSet<string> names, JsonNode? node)
    {
        switch (node)
        {
            case null:
                return true;
            case JsonArray list when list.All(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.String):
                names.UnionWith(list.Select(i => i!.GetValue<string>()));
                return true;
            case JsonObject map:
                names.UnionWith(map.Select(p => p.Key));
                return true;
            default:
                return false;
        }
    }

    private static void AddFromMetadata(HashSet<string> names, string? metadata)
    {
        if (string.IsNullOrEmpty(metadata) || !metadata.Contains("guardrails", StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            if (JsonNode.Parse(metadata) is JsonObject map)
            {
                AddNames(names, map["guardrails"]);
            }
        }
        catch (JsonException)
        {
            // metadata is stored as JSON by the key endpoints; anything else carries no guardrails
        }
    }
}

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Contracts.Identity;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// The guardrails of one request after pre_call: waits for the during_call ones, runs the post_call ones on the answer
/// (after the request's placeholders were put back), and records every decision.
/// </summary>
public sealed class GuardrailRun
{
    /// <summary>No guardrail applies: every step is a no-op.</summary>
    public static readonly GuardrailRun None = new(null, [], null);

    private readonly GuardrailPipeline? _pipeline;
    private readonly ConcurrentQueue<GuardrailDecision> _decisions = new();
    private int _finished;

    internal GuardrailRun(GuardrailPipeline? pipeline, IReadOnlyList<GuardrailDefinition> selected, Caller? caller)
    {
        _pipeline = pipeline;
        Selected = selected;
        Caller = caller;
    }

    public IReadOnlyList<GuardrailDefinition> Selected { get; }

    public Caller? Caller { get; }

    public GuardrailSession Session { get; } = new();

    /// <summary>Set when the request is refused (blocked, unknown guardrail, unavailable guardrail): answer with it, queue nothing.</summary>
    public OpenAiErrorResult? Error { get; internal set; }

    /// <summary>True when a pre_call guardrail rewrote the request body (send the body, not the text it was read from).</summary>
    public bool BodyChanged { get; internal set; }

    public IReadOnlyCollection<GuardrailDecision> Decisions => _decisions;

    internal Task<(GuardrailDefinition Definition, GuardrailVerdict Verdict)[]>? During { get; set; }

    private bool HasPostCall => Selected.Any(d => d.Modes.HasFlag(GuardrailModes.PostCall));

    internal static GuardrailRun Refused(OpenAiErrorResult error) => new(null, [], null) { Error = error };

    internal void Add(GuardrailDecision decision) => _decisions.Enqueue(decision);

    /// <summary>The decisions as the spend log keeps them (<see cref="Contracts.Usage.UsageRecorded.Guardrails"/>), optionally of one mode only.</summary>
    public IReadOnlyList<Contracts.Usage.GuardrailOutcome> Outcomes(string? mode = null) =>
    [
        .. _decisions.Where(d => mode is null || d.Mode == mode).Select(d => new Contracts.Usage.GuardrailOutcome
        {
            Guardrail = d.Guardrail,
            Mode = d.Mode,
            Decision = d.Action.ToString().ToLowerInvariant(),
            LatencyMs = d.LatencyMs,
        }),
    ];

    /// <summary>
    /// The pre_call decisions of the request being served (the latest run started on it), for the command that queues it;
    /// null when no guardrail ran. during_call ones may still run then and post_call ones come later: <see cref="Finish"/> publishes them.
    /// </summary>
    public static IReadOnlyList<Contracts.Usage.GuardrailOutcome>? PreCallOutcomes(Microsoft.AspNetCore.Http.HttpContext? http) =>
        http?.Items.TryGetValue(typeof(GuardrailRun), out var value) == true && value is GuardrailRun run && run.Outcomes("pre_call") is { Count: > 0 } outcomes
            ? outcomes
            : null;

    /// <summary>The refusal a verdict means, or null when it lets the text through.</summary>
    internal static OpenAiErrorResult? Refusal(GuardrailDefinition definition, GuardrailPhase phase, GuardrailVerdict verdict) => verdict.Action switch
    {
        GuardrailAction.Blocked => GuardrailErrors.Blocked(definition.Name, phase, verdict.Reason ?? "blocked"),
        GuardrailAction.Unavailable => GuardrailErrors.Unavailable(definition.Name, verdict.Reason ?? "unavailable"),
        _ => null,
    };

    /// <summary>Waits for the during_call guardrails; the first refusal among them, or null.</summary>
    internal async Task<OpenAiErrorResult?> WaitDuringAsync()
    {
        if (During is null)
        {
            return null;
        }

        foreach (var (definition, verdict) in await During)
        {
            if (Refusal(definition, GuardrailPhase.Request, verdict) is { } refused)
            {
                return refused;
            }
        }

        return null;
    }

    /// <summary>
    /// A non-streamed answer: waits for the during_call guardrails, puts the request's placeholders back, then runs the
    /// post_call guardrails (which may rewrite it in place). A refusal is returned instead of the answer. The decisions
    /// made here go to the spend log row of <paramref name="requestId"/> (<see cref="Finish"/>), refused or not.
    /// </summary>
    public async Task<OpenAiErrorResult?> CheckAnswerAsync(JsonObject? answer, GuardrailShape shape, Guid? requestId, CancellationToken cancellationToken)
    {
        try
        {
            if (await WaitDuringAsync() is { } refused)
            {
                return refused;
            }

            if (answer is null || _pipeline is null)
            {
                return null;
            }

            var slots = TextSlots.OfAnswer(answer, shape);
            if (Session.HasPlaceholders)
            {
                slots.Write(slots.Texts().Select(Session.Unmask).ToList());
            }

            return await PostCallAsync(slots.Texts(), texts => slots.Write(texts), cancellationToken);
        }
        finally
        {
            Finish(requestId);
        }
    }

    /// <summary>
    /// The request's answer was checked (or will not be: the provider failed, the client left): the during_call and
    /// post_call decisions are published for the spend log row of <paramref name="requestId"/>
    /// (<see cref="Contracts.Usage.GuardrailsDecided"/>), once the during_call guardrails still running have decided.
    /// Only the first call publishes; without such decisions nothing is published.
    /// </summary>
    public void Finish(Guid? requestId)
    {
        if (_pipeline is null || requestId is not { } id || (During is null && !HasPostCall) || Interlocked.Exchange(ref _finished, 1) == 1)
        {
            return;
        }

        _ = _pipeline.PublishDecidedAsync(this, id);
    }

    /// <summary>The gate a streamed answer goes through, or null when nothing has to look at it.</summary>
    public IStreamGate? StreamGate(GuardrailShape shape) =>
        _pipeline is null || (During is null && !HasPostCall && !Session.HasPlaceholders) ? null : new GuardrailStreamGate(this, shape);

    /// <summary>Runs the post_call guardrails over <paramref name="texts"/>; masked results go to <paramref name="write"/>.</summary>
    internal async Task<OpenAiErrorResult?> PostCallAsync(IReadOnlyList<string> texts, Action<IReadOnlyList<string>> write, CancellationToken cancellationToken)
    {
        foreach (var definition in Selected.Where(d => d.Modes.HasFlag(GuardrailModes.PostCall)))
        {
            var verdict = await _pipeline!.RunAsync(this, definition, "post_call", GuardrailPhase.Answer, texts, cancellationToken);
            if (Refusal(definition, GuardrailPhase.Answer, verdict) is { } refused)
            {
                return refused;
            }

            if (verdict is { Action: GuardrailAction.Masked, Texts: { } masked })
            {
                texts = masked;
                write(masked);
            }
        }

        return null;
    }

    /// <summary>True when a post_call guardrail may rewrite the answer (a stream is then held until it ran over the whole text).</summary>
    internal bool RewritesAnswer => Selected.Any(d => d.Modes.HasFlag(GuardrailModes.PostCall) && (GuardrailTypes.Rewrites(d.Guardrail) || d.Guardrail == GuardrailTypes.GenericApi));

    internal bool ChecksAnswer => HasPostCall;
}

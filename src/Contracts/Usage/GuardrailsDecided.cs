namespace Broker.Contracts.Usage;

/// <summary>
/// Event published by the Ingress (Ingress → Billing) once it has checked a request's answer: the guardrail decisions
/// made after the request was queued (during_call, post_call), which <see cref="UsageRecorded.Guardrails"/> cannot carry
/// because the worker records usage before the Ingress sees the answer. Billing adds them to the request's spend log row,
/// whichever of the two events arrives first. A post_call guardrail that blocked the answer is here too: the client got a
/// 400, but the provider was called and charged.
/// </summary>
public sealed record GuardrailsDecided
{
    /// <summary>The request whose spend log row these decisions belong to (the <c>x-litellm-call-id</c> of the answer).</summary>
    public required Guid RequestId { get; init; }

    /// <summary>The during_call and post_call decisions, in the order they were made.</summary>
    public required IReadOnlyList<GuardrailOutcome> Guardrails { get; init; }

    public required DateTimeOffset DecidedAt { get; init; }
}

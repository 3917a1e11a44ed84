using Broker.Contracts.Identity;
using Broker.Contracts.Inference;

namespace Broker.Contracts.Usage;

/// <summary>
/// Event published for every finished request (Workers → Billing), and by the Ingress for every answer served
/// from the response cache (<see cref="CacheHit"/>).
/// </summary>
public sealed record UsageRecorded
{
    public required Guid RequestId { get; init; }

    public required string ModelGroup { get; init; }

    public required string DeploymentId { get; init; }

    public required string Provider { get; init; }

    public required int PromptTokens { get; init; }

    public required int CompletionTokens { get; init; }

    public required double LatencyMs { get; init; }

    /// <summary>Streamed requests: time until the provider's first chunk.</summary>
    public double? TimeToFirstTokenMs { get; init; }

    public required bool Succeeded { get; init; }

    public string? ErrorClass { get; init; }

    public required DateTimeOffset CompletedAt { get; init; }

    /// <summary>
    /// Answered from the response cache: no provider was called, so the spend is 0. The token counts are those
    /// of the cached answer, for reporting only.
    /// </summary>
    public bool CacheHit { get; init; }

    /// <summary>Who sent the request. On an open gateway, with the master key or an admin JWT: only the end user (the request's
    /// <c>user</c>), or null when it named none.</summary>
    public Caller? Caller { get; init; }

    /// <summary>The request's messages (or embedding input) as JSON; only with general_settings.store_prompts_in_spend_logs.</summary>
    public string? Messages { get; init; }

    /// <summary>The answer as JSON (the completion, or the streamed text as a JSON string); only with store_prompts_in_spend_logs.</summary>
    public string? Response { get; init; }

    /// <summary>The request's cost in USD (0 for a cache hit or a failure); null when the price is unknown.</summary>
    public decimal? Cost { get; init; }

    /// <summary>
    /// The guardrails that ran on the request before it was queued (or that refused it), with their decisions and latency; the
    /// during_call and post_call ones come later, in <see cref="GuardrailsDecided"/>.
    /// </summary>
    public IReadOnlyList<GuardrailOutcome>? Guardrails { get; init; }

    /// <summary>
    /// The attempt that produced this usage, for the attempt history, when it travels in this event instead of its own
    /// <see cref="InferenceAttempted"/> (Workers do so unless <c>Workers:AttemptWithUsage</c> is false); Billing stores
    /// it as it stores an <see cref="InferenceAttempted"/>, and reads both forms. Null from earlier Workers, the cache
    /// and the Ingress's own events.
    /// </summary>
    public InferenceAttempted? Attempt { get; init; }
}

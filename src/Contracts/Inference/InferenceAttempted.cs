using Broker.Contracts.Identity;

namespace Broker.Contracts.Inference;

/// <summary>
/// Workers → Billing: one attempt of a request finished, successful or not (the first attempt, and every retry or
/// fallback the retry saga sent). Billing keeps them as the request's attempt history (<c>GET /request/{id}</c>).
/// The attempt that answers usually travels inside its <see cref="Usage.UsageRecorded"/> instead (one event less per
/// request); this event carries the others.
/// </summary>
public sealed record InferenceAttempted
{
    public required Guid RequestId { get; init; }

    /// <summary>This attempt's own id: a redelivered event is stored once, a rerun attempt twice.</summary>
    public required Guid AttemptId { get; init; }

    /// <summary>1 for the first attempt, 2 for the first retry or fallback, ...</summary>
    public required int Attempt { get; init; }

    /// <summary>The group the client's request resolved to.</summary>
    public required string OriginalModelGroup { get; init; }

    /// <summary>The group this attempt ran in (a fallback's group differs from the original).</summary>
    public required string ModelGroup { get; init; }

    /// <summary>The deployment called; null when the attempt failed before one was chosen (all cooling down, ...).</summary>
    public string? DeploymentId { get; init; }

    /// <summary>200 for success, else the HTTP status of the failure as the client would have seen it.</summary>
    public required int StatusCode { get; init; }

    /// <summary>The failure's class (retry_policy's names); null for success.</summary>
    public string? ErrorClass { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required double LatencyMs { get; init; }

    /// <summary>Who sent the request: only its owner (or the admin) may read the history.</summary>
    public Caller? Caller { get; init; }
}

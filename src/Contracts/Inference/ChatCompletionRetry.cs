namespace Broker.Contracts.Inference;

/// <summary>
/// Where a request stands in its retries and fallbacks. Carried by every attempt after the first, so the
/// attempt itself says what was tried (the retry saga keeps the same record as its state).
/// </summary>
public sealed record ChatCompletionRetry
{
    /// <summary>1 for the first retry or fallback, 2 for the next, ...</summary>
    public required int Attempt { get; init; }

    /// <summary>The group the client's request resolved to.</summary>
    public required string OriginalModelGroup { get; init; }

    /// <summary>Retries made so far in the group this attempt runs in.</summary>
    public int RetriesInGroup { get; init; }

    /// <summary>Retries made so far, all groups together (x-litellm-attempted-retries).</summary>
    public int AttemptedRetries { get; init; }

    /// <summary>Fallback groups moved to so far (x-litellm-attempted-fallbacks).</summary>
    public int AttemptedFallbacks { get; init; }

    /// <summary>The fallback groups chosen when the first fallback happened, in order; null until then.</summary>
    public IReadOnlyList<string>? FallbackChain { get; init; }

    /// <summary>Deployments that already failed this request in the current group: routing prefers others.</summary>
    public IReadOnlyList<string> AvoidDeploymentIds { get; init; } = [];

    /// <summary>Do not call the provider before this time (backoff, Retry-After).</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Every failed attempt so far, one line each: deployment, group, class, status.</summary>
    public IReadOnlyList<string> History { get; init; } = [];
}

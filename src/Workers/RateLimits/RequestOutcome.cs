using Broker.Contracts.Inference;

namespace Broker.Workers.RateLimits;

/// <summary>How a routed request ended, as the routing state records it.</summary>
/// <param name="Tokens">Prompt + completion tokens (for tpm).</param>
/// <param name="LatencyMs">Latency to record (time to first token when streaming); null = none (failures, expiries).</param>
/// <param name="FailureClass">The failure class when the failure counts towards a cooldown; null otherwise.</param>
/// <param name="Succeeded">True for a success (counted for the failure rate).</param>
public sealed record RequestOutcome(int Tokens, double? LatencyMs, ProviderErrorClass? FailureClass, bool Succeeded)
{
    /// <summary>The request ended without an answer that says anything about the deployment (deadline, cancel).</summary>
    public static RequestOutcome Abandoned { get; } = new(0, null, null, false);
}

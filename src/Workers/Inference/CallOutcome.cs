using Broker.Contracts.Inference;
using Broker.Workers.Providers;

namespace Broker.Workers.Inference;

/// <summary>How a provider call ended, filled in by the consumer for the routing state; abandoned until finished.</summary>
public sealed class CallOutcome
{
    public TokenUsage? Usage { get; private set; }

    public double? LatencyMs { get; private set; }

    public ProviderError? Error { get; private set; }

    /// <summary>True while the call has not finished (deadline, cancellation, unsupported provider, exception).</summary>
    public bool Abandoned { get; private set; } = true;

    public void Finish(TokenUsage usage, double latencyMs, ProviderError? error)
    {
        Usage = usage;
        LatencyMs = latencyMs;
        Error = error;
        Abandoned = false;
    }
}

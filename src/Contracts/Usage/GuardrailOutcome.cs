namespace Broker.Contracts.Usage;

/// <summary>One guardrail run of a request, as the spend log keeps it: which guardrail, in which mode, what it decided, how long it took.</summary>
public sealed record GuardrailOutcome
{
    /// <summary>The guardrail_name of config.yaml.</summary>
    public required string Guardrail { get; init; }

    /// <summary>pre_call, during_call or post_call.</summary>
    public required string Mode { get; init; }

    /// <summary>allowed, masked, blocked or unavailable.</summary>
    public required string Decision { get; init; }

    public required double LatencyMs { get; init; }
}

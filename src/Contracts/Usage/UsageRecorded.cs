namespace Broker.Contracts.Usage;

/// <summary>Event published by a worker for every finished request (Workers → Billing).</summary>
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
}

namespace Broker.Contracts.History;

/// <summary>One attempt of a request, as Billing stored it.</summary>
public sealed record RequestAttempt
{
    public required int Attempt { get; init; }

    public required string OriginalModelGroup { get; init; }

    public required string ModelGroup { get; init; }

    public string? DeploymentId { get; init; }

    public required int StatusCode { get; init; }

    public string? ErrorClass { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required double LatencyMs { get; init; }
}

namespace Broker.Contracts.History;

/// <summary>Billing keeps no attempt history (no database configured), or cannot read it now (<see cref="Reason"/>).</summary>
public sealed record RequestHistoryUnavailable
{
    public required Guid RequestId { get; init; }

    /// <summary>True: no store is configured at all (not a passing outage).</summary>
    public required bool NotConfigured { get; init; }

    public required string Reason { get; init; }
}

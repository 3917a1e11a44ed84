namespace Broker.Contracts.History;

/// <summary>The attempts of a request, in the order they started, with who sent it (the Ingress decides who may see them).</summary>
public sealed record RequestHistoryFound
{
    public required Guid RequestId { get; init; }

    /// <summary>SHA-256 of the virtual key that sent the request; null for the master key, an admin JWT or an open gateway.</summary>
    public string? KeyHash { get; init; }

    public string? UserId { get; init; }

    public string? TeamId { get; init; }

    public required IReadOnlyList<RequestAttempt> Attempts { get; init; }
}

namespace Broker.Contracts.History;

/// <summary>No attempt of this request is stored (unknown id, a cache hit, or older than the spend log retention).</summary>
public sealed record RequestHistoryNotFound
{
    public required Guid RequestId { get; init; }
}

namespace Broker.Contracts.History;

/// <summary>
/// Ingress → Billing (request/response): the attempts of one request. Answered with <see cref="RequestHistoryFound"/>,
/// <see cref="RequestHistoryNotFound"/> or <see cref="RequestHistoryUnavailable"/>.
/// </summary>
public sealed record GetRequestHistory
{
    public required Guid RequestId { get; init; }
}

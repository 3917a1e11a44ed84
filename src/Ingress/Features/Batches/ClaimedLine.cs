namespace Broker.Ingress.Features.Batches;

/// <summary>A batch line leased to this process for one attempt.</summary>
public sealed record ClaimedLine(
    string BatchId, int LineNo, string CustomId, string ModelGroup, string RequestedModel, string Body, Guid RequestId, string Endpoint, string? Caller, int Attempts);

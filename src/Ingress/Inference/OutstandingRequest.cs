namespace Broker.Ingress.Inference;

/// <summary>A request sent to a queue that has had no answer yet, and how long it has waited.</summary>
public sealed record OutstandingRequest(Guid RequestId, string Queue, TimeSpan Age);

namespace Broker.Workers.Providers;

/// <summary>
/// Calls one kind of provider API to rank documents against a query. The call's request is Broker's rerank request
/// (<see cref="RerankShapes"/>); the result's body is the ranking in Cohere's shape, its usage the input tokens.
/// </summary>
public interface IRerankProvider
{
    Task<ProviderResult> RerankAsync(ProviderCall call, CancellationToken cancellationToken);
}

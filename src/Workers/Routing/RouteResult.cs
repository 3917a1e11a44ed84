using Broker.Workers.Providers;
using Broker.Workers.RateLimits;

namespace Broker.Workers.Routing;

/// <summary>A slot on a deployment, or the error the client gets instead.</summary>
public sealed record RouteResult(RoutingLease? Lease, ProviderError? Error);

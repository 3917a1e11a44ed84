using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// Endpoint metadata: every call of the route may cost money (a pass-through endpoint), so budgets hold it back
/// whatever its method, not only on POST (see <see cref="AuthFilter"/>); <see cref="CostPerCall"/> is what each call
/// reserves against them while it runs (<see cref="RequestEstimate"/>).
/// </summary>
public sealed record SpendingRoute(decimal CostPerCall)
{
    /// <summary>The request's endpoint's declaration, else null.</summary>
    public static SpendingRoute? Of(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.GetEndpoint()?.Metadata.GetMetadata<SpendingRoute>();
    }

    /// <summary>True when the request's endpoint declares it spends on every method.</summary>
    public static bool IsDeclared(HttpContext http) => Of(http) is not null;
}

/// <summary>The declaration of a <see cref="SpendingRoute"/>, made where the route is mapped.</summary>
public static class SpendingRouteExtensions
{
    public static TBuilder SpendsOnEveryMethod<TBuilder>(this TBuilder builder, decimal costPerCall) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new SpendingRoute(costPerCall));
}

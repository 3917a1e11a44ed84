using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// Endpoint metadata: every call of the route may cost money (a pass-through endpoint with <c>cost_per_request</c>),
/// so budgets hold it back whatever its method, not only on POST (see <see cref="AuthFilter"/>).
/// </summary>
public sealed class SpendingRoute
{
    public static readonly SpendingRoute Instance = new();

    private SpendingRoute()
    {
    }

    /// <summary>True when the request's endpoint declares it spends on every method.</summary>
    public static bool IsDeclared(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.GetEndpoint()?.Metadata.GetMetadata<SpendingRoute>() is not null;
    }
}

/// <summary>The declaration of a <see cref="SpendingRoute"/>, made where the route is mapped.</summary>
public static class SpendingRouteExtensions
{
    public static TBuilder SpendsOnEveryMethod<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(SpendingRoute.Instance);
}

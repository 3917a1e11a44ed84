using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Auth;

/// <summary>
/// Route declarations, made where the route is mapped: <c>.AdminOnly()</c>, <c>.AllowAnyKey()</c>, or ASP.NET's
/// <c>.AllowAnonymous()</c> for open routes; and <c>.CheckCallers()</c> on a group puts its routes behind the key check.
/// </summary>
public static class RouteAccessExtensions
{
    /// <summary>The proxy admin only (master key, admin JWT).</summary>
    public static TBuilder AdminOnly<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(RouteAccess.AdminOnly);

    /// <summary>Any valid key; the endpoint decides what the caller may see.</summary>
    public static TBuilder AllowAnyKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(RouteAccess.AnyKey);

    /// <summary>Puts every route of the group behind <see cref="AuthFilter"/>.</summary>
    public static RouteGroupBuilder CheckCallers(this RouteGroupBuilder group) => group.CheckCallers<AuthFilter>();

    /// <summary>Puts every route of the group behind <typeparamref name="TFilter"/>, a filter that runs <see cref="AuthFilter"/>.</summary>
    public static RouteGroupBuilder CheckCallers<TFilter>(this RouteGroupBuilder group) where TFilter : IEndpointFilter
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.AddEndpointFilter<TFilter>().WithMetadata(CallerCheck.Instance);
    }
}

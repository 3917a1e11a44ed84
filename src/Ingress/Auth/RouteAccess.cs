using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>Who may call a route, as the endpoint declares it (see <see cref="RouteAccessExtensions"/>).</summary>
public enum RouteAccessLevel
{
    /// <summary>Anyone, without a key (probes, metrics, the unknown-route answer): ASP.NET's <c>AllowAnonymous()</c>.</summary>
    Open,

    /// <summary>Any valid key, master key, or JWT; the endpoint (and the configured route rules) may narrow it further.</summary>
    AnyKey,

    /// <summary>The proxy admin only: the master key or an admin JWT (everyone on an open gateway).</summary>
    AdminOnly,
}

/// <summary>
/// Endpoint metadata: the access a route declares. A route that declares none is refused (fail closed), so a route
/// cannot be added that the key check does not know about.
/// </summary>
public sealed record RouteAccess(RouteAccessLevel Level)
{
    public static readonly RouteAccess AnyKey = new(RouteAccessLevel.AnyKey);

    public static readonly RouteAccess AdminOnly = new(RouteAccessLevel.AdminOnly);

    /// <summary>The access <paramref name="endpoint"/> declares; null when it declares none.</summary>
    public static RouteAccessLevel? Of(Endpoint? endpoint)
    {
        if (endpoint?.Metadata.GetMetadata<RouteAccess>() is { } declared)
        {
            return declared.Level;
        }

        return endpoint?.Metadata.GetMetadata<IAllowAnonymous>() is not null ? RouteAccessLevel.Open : null;
    }

    /// <summary>True when the endpoint sits behind the key check (<see cref="RouteAccessExtensions.CheckCallers(Microsoft.AspNetCore.Routing.RouteGroupBuilder)"/>).</summary>
    public static bool IsChecked(Endpoint? endpoint) => endpoint?.Metadata.GetMetadata<CallerCheck>() is not null;
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Auth;

/// <summary>
/// Fail closed: a request whose route declares no access (<see cref="RouteAccess"/>), or declares that it needs a key
/// but is not behind the key check, is refused before its endpoint runs.
/// </summary>
public static class RouteDeclarations
{
    public static Task RefuseUndeclaredAsync(HttpContext http, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(next);
        // no endpoint (404) or routing's own answers (405 for a known path with another method): nothing of ours runs
        if (http.GetEndpoint() is not RouteEndpoint endpoint)
        {
            return next(http);
        }

        return RouteAccess.Of(endpoint) switch
        {
            RouteAccessLevel.Open => next(http),
            RouteAccessLevel.AnyKey or RouteAccessLevel.AdminOnly when RouteAccess.IsChecked(endpoint) => next(http),
            _ => AuthErrors.RouteUndeclared(http.Request.Path.Value ?? "/").ExecuteAsync(http),
        };
    }
}

using Broker.Config;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.PassThrough;

/// <summary>
/// general_settings.pass_through_endpoints as routes: each entry's path (and, with <c>include_subpath</c>, everything
/// under it) for its methods (all by default), behind the same key check as every other route: a Broker key is needed
/// unless the entry says <c>auth: false</c>; the key's allowed routes, rpm/tpm/parallel limits and budgets apply
/// (budgets on every method, not only POST). The body is never read by Broker: it streams to the target.
/// </summary>
public static class PassThroughEndpoints
{
    public static IEndpointRouteBuilder MapPassThrough(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var services = app.ServiceProvider;
        var endpoints = services.GetRequiredService<IProxyConfigProvider>().Current.GeneralSettings.PassThroughEndpoints;
        if (endpoints.Count == 0)
        {
            return app;
        }

        var forwarder = services.GetRequiredService<PassThroughForwarder>();
        var time = services.GetRequiredService<TimeProvider>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PassThroughEndpoints));
        var group = app.MapGroup("").CheckCallers();
        foreach (var endpoint in endpoints)
        {
            var transformer = new PassThroughTransformer(endpoint, time);
            Task<IResult> Handler(HttpContext http) => forwarder.ForwardAsync(http, transformer);
            Declare(group, endpoint, endpoint.Path, Handler);
            if (endpoint.IncludeSubpath)
            {
                Declare(group, endpoint, endpoint.Path + "/{**subpath}", Handler);
            }

            Log.Mapped(logger, endpoint.Path, endpoint.Target.GetLeftPart(UriPartial.Authority), endpoint.IncludeSubpath, endpoint.Auth);
        }

        return app;
    }

    private static void Declare(RouteGroupBuilder group, PassThroughEndpoint endpoint, string pattern, Func<HttpContext, Task<IResult>> handler)
    {
        var route = endpoint.Methods.Count == 0 ? group.Map(pattern, handler) : group.MapMethods(pattern, endpoint.Methods, handler);
        route.WithDisplayName($"pass-through {pattern}")
            .WithMetadata(endpoint)
            .ReadsOwnBody()
            .SpendsOnEveryMethod(endpoint.CostPerRequest ?? 0m);
        if (endpoint.Auth)
        {
            route.AllowAnyKey();
        }
        else
        {
            route.AllowAnonymous();
        }
    }
}

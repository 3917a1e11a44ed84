using System.Net;
using Broker.Host.Tests.Infrastructure;
using Broker.Ingress.Auth;
using Broker.TestKit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Security;

/// <summary>Every route the Ingress maps declares who may call it, and what needs a key is behind the key check.</summary>
[Trait("Category", "Integration")]
public sealed class RouteDeclarationsTests
{
    [Fact]
    public async Task MappedRoutes_Every_DeclaresItsAccessAndKeyRoutesAreChecked()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, null));

        var routes = broker.Hosts[0].Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

        Assert.True(routes.Count > 50, $"only {routes.Count} routes found");
        var undeclared = routes.Where(r => RouteAccess.Of(r) is null).Select(Describe).ToList();
        Assert.True(undeclared.Count == 0, "routes without an access declaration: " + string.Join(", ", undeclared));
        var unguarded = routes.Where(r => RouteAccess.Of(r) is not RouteAccessLevel.Open && !RouteAccess.IsChecked(r)).Select(Describe).ToList();
        Assert.True(unguarded.Count == 0, "routes that need a key but are not behind the key check: " + string.Join(", ", unguarded));
        var admin = routes.Where(r => RouteAccess.Of(r) == RouteAccessLevel.AdminOnly).Select(r => r.RoutePattern.RawText!).ToHashSet();
        foreach (var route in new[] { "/model/list", "/queues", "/cooldowns", "/spend/logs", "/global/spend/report", "/key/list", "/key/update", "/user/new", "/team/delete" })
        {
            Assert.Contains(route, admin);
        }

        var open = routes.Where(r => RouteAccess.Of(r) == RouteAccessLevel.Open).Select(r => r.RoutePattern.RawText!.TrimStart('/')).Order(StringComparer.Ordinal).ToList();
        // the admin UI's files, its sign-in/sign-out (which check the key themselves) and the SSO flow (which checks the
        // provider's state and id_token itself) are open too
        Assert.Equal(
            ["health/liveliness", "health/liveness", "health/readiness", "metrics", "sso/callback", "sso/key/generate", "ui", "ui/api/session", "ui/api/session", "ui/api/session", "ui/api/sso", "ui/api/{**rest}", "ui/{**path}", "{*path:nonfile}"],
            open);
    }

    [Fact]
    public async Task AdminRoutes_VirtualKey_RefusedWithTheirOwnStatus()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url));
        var key = await GenerateKeyAsync(broker.Http, new { });

        var (queues, queuesBody) = await GetAsync(broker.Http, "queues", key);
        var (list, listBody) = await GetAsync(broker.Http, "key/list", key);
        var (info, _) = await GetAsync(broker.Http, "key/info", key);

        Assert.Equal(HttpStatusCode.Forbidden, queues);
        AssertOpenAiError(queuesBody, "auth_error");
        Assert.Equal(HttpStatusCode.Unauthorized, list);
        AssertOpenAiError(listBody, "auth_error");
        Assert.Equal(HttpStatusCode.OK, info);
    }

    private static string Describe(RouteEndpoint endpoint) => endpoint.DisplayName ?? endpoint.RoutePattern.RawText ?? "?";
}

using System.Net;
using System.Text.Json.Nodes;
using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Tests.Auth;

/// <summary>Fail closed: a route that declares no access, or needs a key but is not behind the key check, is refused.</summary>
public sealed class RouteDeclarationsTests
{
    [Fact]
    public async Task Request_RouteWithoutDeclaration_RefusedBeforeItsEndpointRuns()
    {
        var ran = new List<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.Use(RouteDeclarations.RefuseUndeclaredAsync);
        app.MapGet("/undeclared", () => { ran.Add("undeclared"); return "ran"; });
        app.MapGet("/open", () => { ran.Add("open"); return "ran"; }).AllowAnonymous();
        app.MapGet("/admin-unchecked", () => { ran.Add("admin"); return "ran"; }).AdminOnly();
        app.MapPost("/post-only", () => { ran.Add("post"); return "ran"; }).AllowAnonymous();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

        using var undeclared = await http.GetAsync(new Uri("/undeclared", UriKind.Relative));
        using var open = await http.GetAsync(new Uri("/open", UriKind.Relative));
        using var adminUnchecked = await http.GetAsync(new Uri("/admin-unchecked", UriKind.Relative));
        using var wrongMethod = await http.GetAsync(new Uri("/post-only", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, undeclared.StatusCode);
        Assert.Equal("route_not_declared", JsonNode.Parse(await undeclared.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, adminUnchecked.StatusCode);
        // routing's own 405 is not a route of ours: it is answered as such
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal(["open"], ran);
        await app.StopAsync();
    }
}

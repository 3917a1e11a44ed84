using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.ServiceDefaults.Reload;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.ConfigReload;

/// <summary>
/// <c>POST /config/reload</c> (proxy admin only; what <c>broker reload</c> calls): re-reads this process's config.yaml
/// now and, when it loads, puts it in force and announces the reload on the bus so every other process re-reads its
/// own file. An invalid file answers 400 with every error and the config in force stays.
/// </summary>
public static class ConfigReloadEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    public static RouteGroupBuilder MapConfigReload(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/config/reload", async (HttpContext http, IProxyConfigProvider config, CancellationToken cancellationToken) =>
        {
            if (http.RequestServices.GetService(typeof(ConfigReloader)) is not ConfigReloader reloader)
            {
                return (IResult)new OpenAiErrorResult(StatusCodes.Status501NotImplemented, "This process does not reload its config", "invalid_request_error", null, "reload_unavailable");
            }

            var outcome = await reloader.ReloadAsync("POST /config/reload", force: true, announce: true, cancellationToken);
            if (outcome.Status == ConfigReloadOutcome.Invalid)
            {
                return OpenAiErrorResult.BadRequest(
                    $"config.yaml is invalid ({outcome.Errors.Count} error(s)); the config loaded before stays in force:\n" + string.Join("\n", outcome.Errors),
                    null, "invalid_config");
            }

            var body = new JsonObject
            {
                ["status"] = outcome.Status,
                ["path"] = reloader.Path,
                ["model_groups"] = new JsonArray([.. config.Current.ModelGroups.Select(g => (JsonNode?)g.Name)]),
                ["added"] = new JsonArray([.. outcome.AddedGroups.Select(g => (JsonNode?)g)]),
                ["removed"] = new JsonArray([.. outcome.RemovedGroups.Select(g => (JsonNode?)g)]),
                ["needs_restart"] = new JsonArray([.. outcome.NeedRestart.Select(g => (JsonNode?)g)]),
            };
            return new JsonTextResult(body.ToJsonString(), NoHeaders);
        }).AdminOnly();
        return group;
    }
}

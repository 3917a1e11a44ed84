using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Http;
using Broker.ServiceDefaults.Redis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Cooldowns;

public static class CooldownsEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    /// <summary>
    /// <c>GET /cooldowns</c> (admin): deployments every worker skips right now, per model group, with the seconds left.
    /// Read from the shared routing state (Redis), or this process's own when the workers run here without Redis.
    /// </summary>
    public static RouteGroupBuilder MapCooldowns(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/cooldowns", async (IProxyConfigProvider config, ICooldownView cooldowns, BrokerRedis redis, HttpContext http) =>
        {
            var deployments = config.Current.ModelGroups
                .SelectMany(g => g.Deployments.Select(d => (g.Name, d.Id)))
                .ToList();
            var active = await cooldowns.ListAsync(deployments, http.RequestAborted);
            var groups = new JsonObject();
            var list = new JsonArray();
            foreach (var cooldown in active.OrderBy(c => c.ModelGroup, StringComparer.Ordinal).ThenBy(c => c.DeploymentId, StringComparer.Ordinal))
            {
                var item = new JsonObject
                {
                    ["model_group"] = cooldown.ModelGroup,
                    ["deployment_id"] = cooldown.DeploymentId,
                    ["remaining_seconds"] = Math.Round(cooldown.RemainingSeconds, 1),
                    ["reason"] = cooldown.Reason,
                };
                list.Add(item);
                if (groups[cooldown.ModelGroup] is not JsonArray ofGroup)
                {
                    ofGroup = [];
                    groups[cooldown.ModelGroup] = ofGroup;
                }

                ofGroup.Add(cooldown.DeploymentId);
            }

            var body = new JsonObject
            {
                ["cooldowns"] = list,
                ["model_groups"] = groups,
                ["shared_state"] = redis.Available() is not null ? "redis" : "local",
            };
            return new JsonTextResult(body.ToJsonString(), NoHeaders);
        }).AdminOnly();
        return group;
    }
}

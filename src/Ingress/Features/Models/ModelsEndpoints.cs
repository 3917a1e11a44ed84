using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Models;

public static class ModelsEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    /// <summary>
    /// <c>GET /models</c>: the model groups (and aliases) clients may name, in OpenAI's list shape; a wildcard group is
    /// listed by its pattern (<c>anthropic/*</c>, <c>*</c>), after the named groups.
    /// </summary>
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/models", (IProxyConfigProvider config, Microsoft.AspNetCore.Http.HttpContext http) =>
        {
            var current = config.Current;
            // a virtual key sees only the models its key, team and user may call
            var auth = Auth.AuthContext.Of(http);
            var names = current.ModelGroups.Where(g => !g.IsWildcard).Select(g => g.Name)
                .Concat(current.RouterSettings.ModelGroupAlias.Keys)
                .Concat(current.ModelGroups.Where(g => g.IsWildcard).Select(g => g.Name))
                .Distinct(StringComparer.Ordinal)
                .Where(n => auth is null || auth.IsAdmin ||
                            ((auth.Key is null || Auth.ModelAccess.IsAllowed(current, auth.Key.Models, n)) &&
                             (auth.Team is null || Auth.ModelAccess.IsAllowed(current, auth.Team.Models, n)) &&
                             (auth.User is null || Auth.ModelAccess.IsAllowed(current, auth.User.Models, n))));
            var data = new JsonArray();
            foreach (var name in names)
            {
                data.Add(new JsonObject { ["id"] = name, ["object"] = "model", ["created"] = 1677610602, ["owned_by"] = "openai" });
            }

            return new JsonTextResult(new JsonObject { ["object"] = "list", ["data"] = data }.ToJsonString(), NoHeaders);
        }).AllowAnyKey();
        return group;
    }

    /// <summary><c>GET /model/list</c> (admin): every deployment with its params, secrets redacted.</summary>
    public static RouteGroupBuilder MapModelList(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/model/list", (IProxyConfigProvider config) =>
        {
            var data = new JsonArray();
            foreach (var d in config.Current.ModelList)
            {
                var litellmParams = new JsonObject { ["model"] = d.Model };
                if (d.ApiBase is not null)
                {
                    litellmParams["api_base"] = d.ApiBase;
                }

                if (d.ApiVersion is not null)
                {
                    litellmParams["api_version"] = d.ApiVersion;
                }

                if (d.ApiKey is not null)
                {
                    litellmParams["api_key"] = d.ApiKey.ToString();
                }

                if (d.Rpm is not null)
                {
                    litellmParams["rpm"] = d.Rpm;
                }

                if (d.Tpm is not null)
                {
                    litellmParams["tpm"] = d.Tpm;
                }

                if (d.MaxParallelRequests is not null)
                {
                    litellmParams["max_parallel_requests"] = d.MaxParallelRequests;
                }

                if (d.MockResponse is not null)
                {
                    litellmParams["mock_response"] = d.MockResponse;
                }

                data.Add(new JsonObject
                {
                    ["model_name"] = d.ModelName,
                    ["litellm_params"] = litellmParams,
                    ["model_info"] = new JsonObject
                    {
                        ["id"] = d.Id,
                        ["mode"] = d.ModelInfo.Mode,
                        ["provider"] = d.Provider,
                        ["queue"] = Config.Model.ModelGroup.QueueNameFor(d.ModelName),
                    },
                });
            }

            return new JsonTextResult(new JsonObject { ["data"] = data }.ToJsonString(), NoHeaders);
        }).AdminOnly();
        return group;
    }
}

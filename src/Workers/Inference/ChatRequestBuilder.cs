using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Workers.Inference;

/// <summary>Builds the request one deployment receives: the client's body, the deployment's defaults, its model.</summary>
public static class ChatRequestBuilder
{
    /// <summary>Keys LiteLLM reads itself and never forwards to a provider.</summary>
    private static readonly HashSet<string> GatewayOnlyKeys =
    [
        "metadata", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "num_retries", "caching",
        "cache", "tags", "mock_testing_fallbacks", "mock_timeout", "api_key", "api_base", "api_version",
        "litellm_logging_obj", "proxy_server_request", "guardrails",
    ];

    /// <summary>Turns the client's (freshly parsed, owned) request into the deployment's request, in place.</summary>
    public static JsonObject Build(JsonObject clientRequest, ModelDeployment deployment, string providerModel)
    {
        ArgumentNullException.ThrowIfNull(clientRequest);
        ArgumentNullException.ThrowIfNull(deployment);
        var request = clientRequest;
        foreach (var key in GatewayOnlyKeys)
        {
            request.Remove(key);
        }

        foreach (var (key, value) in deployment.DefaultParams)
        {
            if (!request.ContainsKey(key) && !IsPrice(key))
            {
                request[key] = JsonSerializer.SerializeToNode(value);
            }
        }

        request["model"] = providerModel;
        request.Remove("stream");
        request.Remove("stream_options");
        return request;
    }

    /// <summary>Prices (input_cost_per_token, cache_read_input_token_cost...) are the gateway's, never the provider's.</summary>
    private static bool IsPrice(string key) =>
        key.EndsWith("_cost_per_token", StringComparison.Ordinal) || key.EndsWith("_token_cost", StringComparison.Ordinal);

    /// <summary>The model the provider is asked for: wildcard deployments take it from the client's model name.</summary>
    public static string ProviderModel(ModelGroup group, ModelDeployment deployment, string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(deployment);
        var model = deployment.ProviderModel;
        var star = model.IndexOf('*', StringComparison.Ordinal);
        return star < 0 ? model : model[..star] + group.WildcardPart(requestedModel) + model[(star + 1)..];
    }
}

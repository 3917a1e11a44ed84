using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;

namespace Broker.Workers.Inference;

/// <summary>
/// Builds the request one deployment receives: the client's body with the deployment's defaults merged in, then only
/// what the provider's API takes: the gateway's own keys are removed, whoever set them (client or litellm_params), and
/// <c>drop_params</c> / <c>additional_drop_params</c> applied as LiteLLM applies them.
/// </summary>
public static class ChatRequestBuilder
{
    /// <summary>Keys the gateway reads itself (from the body or from litellm_params) and never forwards to a provider.</summary>
    private static readonly HashSet<string> GatewayOnlyKeys =
    [
        // request controls
        "metadata", "litellm_metadata", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "num_retries", "max_retries",
        "caching", "cache", "tags", "mock_testing_fallbacks", "mock_timeout", "litellm_logging_obj", "proxy_server_request", "guardrails",
        "timeout", "stream_timeout", "drop_params", "additional_drop_params", "litellm_trace_id", "litellm_call_id",
        // where and how to call (credentials and routing)
        "api_key", "api_base", "api_version", "custom_llm_provider", "organization", "region_name", "litellm_credential_name",
        "configurable_clientside_auth_params", "use_in_pass_through", "use_litellm_proxy", "merge_reasoning_content_in_choices",
        "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_region_name", "aws_profile_name", "aws_role_name",
        "aws_session_name", "aws_web_identity_token", "aws_sts_endpoint", "aws_bedrock_runtime_endpoint", "vertex_project",
        "vertex_location", "vertex_credentials", "watsonx_region_name",
        // deployment bookkeeping
        "rpm", "tpm", "weight", "order", "max_parallel_requests", "model_info", "max_budget", "budget_duration", "max_file_size_mb",
    ];

    /// <summary>Turns the client's (freshly parsed, owned) request into the deployment's request, in place.</summary>
    public static JsonObject Build(JsonObject clientRequest, ModelDeployment deployment, string providerModel) =>
        Build(clientRequest, deployment, providerModel, dropParams: false, checkParams: false, out _);

    /// <summary>
    /// As <see cref="Build(JsonObject, ModelDeployment, string)"/>; with <paramref name="checkParams"/> (chat requests) the
    /// OpenAI parameters the provider does not support are dropped when drop_params is on (the request's, else the
    /// deployment's, else <paramref name="dropParams"/> from litellm_settings), else <paramref name="unsupported"/> is
    /// LiteLLM's UnsupportedParamsError (400) naming them. additional_drop_params are always dropped.
    /// </summary>
    public static JsonObject Build(
        JsonObject clientRequest, ModelDeployment deployment, string providerModel, bool dropParams, bool checkParams, out ProviderError? unsupported)
    {
        ArgumentNullException.ThrowIfNull(clientRequest);
        ArgumentNullException.ThrowIfNull(deployment);
        unsupported = null;
        var request = clientRequest;
        var drop = Flag(request["drop_params"]) ?? Flag(deployment.DefaultParams.GetValueOrDefault("drop_params")) ?? dropParams;
        var alwaysDrop = Names(request["additional_drop_params"]).Concat(Names(deployment.DefaultParams.GetValueOrDefault("additional_drop_params"))).ToList();
        foreach (var (key, value) in deployment.DefaultParams)
        {
            if (!request.ContainsKey(key))
            {
                request[key] = JsonSerializer.SerializeToNode(value);
            }
        }

        foreach (var key in request.Select(p => p.Key).Where(IsGatewayOnly).Concat(alwaysDrop).ToList())
        {
            request.Remove(key);
        }

        request["model"] = providerModel;
        request.Remove("stream");
        request.Remove("stream_options");
        if (checkParams && deployment.MockResponse is null && !request.ContainsKey("mock_response") &&
            ProviderCatalog.Find(deployment.Provider) is { SupportedParams: not null } descriptor && !descriptor.IsOpenAiCompatibleBase(deployment.ApiBase))
        {
            var refused = request.Select(p => p.Key).Where(k => !descriptor.Supports(k)).ToList();
            if (refused.Count > 0 && drop)
            {
                refused.ForEach(k => request.Remove(k));
            }
            else if (refused.Count > 0)
            {
                unsupported = new ProviderError(ProviderErrorClass.BadRequest, 400,
                    $"{descriptor.Name} does not support parameters: {string.Join(", ", refused)}, for model={providerModel}. " +
                    "To drop these, set drop_params: true in litellm_settings or in this deployment's litellm_params (or send drop_params: true), " +
                    "or list them in additional_drop_params.",
                    "unsupported_params");
            }
        }

        return request;
    }

    private static bool IsGatewayOnly(string key) => GatewayOnlyKeys.Contains(key) || IsPrice(key) || IsCredential(key);

    /// <summary>
    /// Credentials and cloud identity settings (Azure AD's tenant_id / client_id / client_secret, azure_*, aws_*, vertex_*,
    /// anything named like a secret, password, credential or token) are how the gateway reaches a provider, never a
    /// request parameter: a resolved <c>os.environ/</c> secret in litellm_params must not travel in the body.
    /// (<c>max_tokens</c> and the like end in <c>_tokens</c>, so they are kept.)
    /// </summary>
    private static bool IsCredential(string key) =>
        key is "tenant_id" or "client_id" or "token" or "username" ||
        key.StartsWith("azure_", StringComparison.Ordinal) || key.StartsWith("aws_", StringComparison.Ordinal) ||
        key.StartsWith("vertex_", StringComparison.Ordinal) || key.StartsWith("watsonx_", StringComparison.Ordinal) ||
        key.Contains("secret", StringComparison.Ordinal) || key.Contains("password", StringComparison.Ordinal) ||
        key.Contains("credential", StringComparison.Ordinal) || key.EndsWith("_token", StringComparison.Ordinal);

    /// <summary>Prices (input_cost_per_token, input_cost_per_second, cache_read_input_token_cost...) are the gateway's, never the provider's.</summary>
    private static bool IsPrice(string key) =>
        key.Contains("_cost_per_", StringComparison.Ordinal) || key.EndsWith("_token_cost", StringComparison.Ordinal);

    private static bool? Flag(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValueKind() == JsonValueKind.True,
        JsonValue v when v.TryGetValue<string>(out var s) && bool.TryParse(s, out var b) => b,
        _ => null,
    };

    private static bool? Flag(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String when bool.TryParse(element.GetString(), out var b) => b,
        _ => null,
    };

    private static IEnumerable<string> Names(JsonNode? node) => node switch
    {
        JsonArray list => list.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>(),
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        _ => [],
    };

    private static IEnumerable<string> Names(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => element.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!),
        JsonValueKind.String => [element.GetString()!],
        _ => [],
    };

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

using System.Text.Json;

namespace Broker.Config.Model;

/// <summary>One model_list entry: a concrete provider model behind a public model_name.</summary>
public sealed record ModelDeployment
{
    /// <summary>model_name: the public model group name clients send.</summary>
    public required string ModelName { get; init; }

    /// <summary>litellm_params.model as written, e.g. <c>anthropic/claude-3-5-sonnet-20240620</c>.</summary>
    public required string Model { get; init; }

    /// <summary>Provider prefix, lower case: <c>openai</c> (also for no prefix), <c>azure</c>, <c>anthropic</c>, <c>groq</c>, ...</summary>
    public required string Provider { get; init; }

    /// <summary>The model name the provider knows (Model without the provider prefix; may contain <c>*</c>).</summary>
    public required string ProviderModel { get; init; }

    /// <summary>model_info.id, else a stable id derived from the entry's position and model.</summary>
    public required string Id { get; init; }

    /// <summary>Position in model_list (0-based).</summary>
    public required int Index { get; init; }

    /// <summary>litellm_params.api_key, else the provider's conventional environment variable; null if neither.</summary>
    public Secret? ApiKey { get; init; }

    public string? ApiBase { get; init; }

    public string? ApiVersion { get; init; }

    /// <summary>rpm from litellm_params or the entry's top level.</summary>
    public int? Rpm { get; init; }

    /// <summary>tpm from litellm_params or the entry's top level.</summary>
    public int? Tpm { get; init; }

    public double? Weight { get; init; }

    public int? Order { get; init; }

    public TimeSpan? Timeout { get; init; }

    public TimeSpan? StreamTimeout { get; init; }

    /// <summary>litellm_params.max_retries: retries of a request on this deployment, instead of router_settings.num_retries.</summary>
    public int? MaxRetries { get; init; }

    /// <summary>litellm_params.tags: with router_settings.enable_tag_filtering, only requests carrying one of them come here (<c>default</c>: untagged ones).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    public int? MaxParallelRequests { get; init; }

    /// <summary>litellm_params.mock_response: answer with this text without calling the provider.</summary>
    public string? MockResponse { get; init; }

    /// <summary>
    /// Every other litellm_params key (temperature, max_tokens, reasoning_effort, ...), as JSON values,
    /// merged into each request sent to this deployment (the client's own values win).
    /// </summary>
    public required IReadOnlyDictionary<string, JsonElement> DefaultParams { get; init; }

    public required ModelInfo ModelInfo { get; init; }

    /// <summary>True for a model added at run time (<c>/model/new</c>, kept in the state store), false for config.yaml's.</summary>
    public bool DbModel { get; init; }

    public override string ToString() =>
        $"{ModelName} -> {Model} (id {Id}{(ApiBase is null ? "" : ", api_base " + ApiBase)}{(ApiKey is null ? "" : ", api_key " + ApiKey)})";
}

namespace Broker.Config.Model;

/// <summary>router_settings (with litellm_settings' values where router_settings is silent).</summary>
public sealed record RouterSettings
{
    /// <summary>A canonical name of <see cref="RoutingStrategyNames"/> (aliases resolved at load); simple-shuffle by default.</summary>
    public string RoutingStrategy { get; init; } = RoutingStrategyNames.SimpleShuffle;

    public LoadBalancing? LoadBalancing { get; init; }

    public bool EnablePreCallChecks { get; init; }

    /// <summary>enable_tag_filtering: a request goes only to deployments carrying one of its tags (see <see cref="ModelDeployment.Tags"/>).</summary>
    public bool EnableTagFiltering { get; init; }

    /// <summary>tag_filtering_match_any: true (default) = a deployment needs one of the request's tags; false = all of them.</summary>
    public bool TagFilteringMatchAny { get; init; } = true;

    /// <summary>Retries within the group before fallbacks (default 3).</summary>
    public int NumRetries { get; init; } = 3;

    public RetryPolicy? RetryPolicy { get; init; }

    public int? AllowedFails { get; init; }

    public AllowedFailsPolicy? AllowedFailsPolicy { get; init; }

    /// <summary>cooldown_time in seconds.</summary>
    public TimeSpan? CooldownTime { get; init; }

    public bool DisableCooldowns { get; init; }

    /// <summary>fallbacks: group → ordered fallback groups.</summary>
    public IReadOnlyList<FallbackRule> Fallbacks { get; init; } = [];

    public IReadOnlyList<FallbackRule> ContextWindowFallbacks { get; init; } = [];

    public IReadOnlyList<FallbackRule> ContentPolicyFallbacks { get; init; } = [];

    /// <summary>litellm_settings.default_fallbacks: for any group without its own.</summary>
    public IReadOnlyList<string> DefaultFallbacks { get; init; } = [];

    public int MaxFallbacks { get; init; } = 5;

    public IReadOnlyDictionary<string, string> ModelGroupAlias { get; init; } = new Dictionary<string, string>();

    /// <summary>Aliases written as <c>{model: "x", hidden: true}</c>: they resolve but are not listed by /v1/models.</summary>
    public IReadOnlyList<string> HiddenModelGroupAliases { get; init; } = [];

    /// <summary>Request timeout (router_settings.timeout, else litellm_settings.request_timeout); null = default.</summary>
    public TimeSpan? Timeout { get; init; }

    public TimeSpan? StreamTimeout { get; init; }

    public string? RedisHost { get; init; }

    public int? RedisPort { get; init; }

    public Secret? RedisPassword { get; init; }

    /// <summary>Other router_settings keys, kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}

/// <summary>One entry of a fallbacks list: <c>{"gpt-4o": ["gpt-4o-mini", "claude"]}</c>.</summary>
public sealed record FallbackRule(string ModelGroup, IReadOnlyList<string> Fallbacks);

/// <summary>load_balancing: <c>{strategy: weighted_round_robin, weights: [{model_name, weight}]}</c>.</summary>
public sealed record LoadBalancing(string Strategy, IReadOnlyList<LoadBalancingWeight> Weights);

public sealed record LoadBalancingWeight(string ModelName, double Weight);

/// <summary>retry_policy: retries per error class (null = use num_retries).</summary>
public sealed record RetryPolicy
{
    public int? AuthenticationErrorRetries { get; init; }

    public int? TimeoutErrorRetries { get; init; }

    public int? RateLimitErrorRetries { get; init; }

    public int? ContentPolicyViolationErrorRetries { get; init; }

    public int? InternalServerErrorRetries { get; init; }

    public int? BadRequestErrorRetries { get; init; }
}

/// <summary>allowed_fails_policy: failures per minute per error class before a cooldown.</summary>
public sealed record AllowedFailsPolicy
{
    public int? AuthenticationErrorAllowedFails { get; init; }

    public int? TimeoutErrorAllowedFails { get; init; }

    public int? RateLimitErrorAllowedFails { get; init; }

    public int? ContentPolicyViolationErrorAllowedFails { get; init; }

    public int? InternalServerErrorAllowedFails { get; init; }

    public int? BadRequestErrorAllowedFails { get; init; }
}

namespace Broker.Config.Model;

/// <summary>litellm_settings: runtime, caching, callbacks, logging.</summary>
public sealed record LitellmSettings
{
    public TimeSpan? RequestTimeout { get; init; }

    public int? NumRetries { get; init; }

    public bool ForceIpv4 { get; init; }

    /// <summary>drop_params: request parameters the target provider does not support are dropped instead of refused.</summary>
    public bool DropParams { get; init; }

    public bool Cache { get; init; }

    public CacheParams? CacheParams { get; init; }

    public IReadOnlyList<string> SuccessCallback { get; init; } = [];

    public IReadOnlyList<string> FailureCallback { get; init; } = [];

    public IReadOnlyList<string> Callbacks { get; init; } = [];

    public IReadOnlyList<string> ServiceCallback { get; init; } = [];

    public bool TurnOffMessageLogging { get; init; }

    public bool RedactUserApiKeyInfo { get; init; }

    public bool SetVerbose { get; init; }

    public bool JsonLogs { get; init; }

    public IReadOnlyList<string> LangfuseDefaultTags { get; init; } = [];

    public Secret? LangfusePublicKey { get; init; }

    public Secret? LangfuseSecretKey { get; init; }

    /// <summary>s3_callback_params: the bucket the <c>s3</c> callback writes to.</summary>
    public S3CallbackParams? S3CallbackParams { get; init; }

    public IReadOnlyList<GuardrailDefinition> Guardrails { get; init; } = [];

    public IReadOnlyDictionary<string, McpServer> McpServers { get; init; } = new Dictionary<string, McpServer>();

    public IReadOnlyDictionary<string, string> McpAliases { get; init; } = new Dictionary<string, string>();

    /// <summary>max_budget / budget_duration accepted here as LiteLLM does (proxy-wide budget).</summary>
    public decimal? MaxBudget { get; init; }

    public string? BudgetDuration { get; init; }

    /// <summary>Other litellm_settings keys, kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}

/// <summary>cache_params.</summary>
public sealed record CacheParams
{
    /// <summary>redis, redis-semantic, qdrant-semantic, s3, local.</summary>
    public string Type { get; init; } = CacheTypeNames.Local;

    public string? Host { get; init; }

    public int? Port { get; init; }

    public Secret? Password { get; init; }

    public string? Namespace { get; init; }

    public TimeSpan? Ttl { get; init; }

    public IReadOnlyList<string> RedisStartupNodes { get; init; } = [];

    public string? ServiceName { get; init; }

    public IReadOnlyList<string> SentinelNodes { get; init; } = [];

    public string? S3BucketName { get; init; }

    public string? S3RegionName { get; init; }

    public Secret? S3AwsAccessKeyId { get; init; }

    public Secret? S3AwsSecretAccessKey { get; init; }

    public string? S3EndpointUrl { get; init; }

    public string? QdrantSemanticCacheEmbeddingModel { get; init; }

    public string? RedisSemanticCacheEmbeddingModel { get; init; }

    public string? QdrantApiBase { get; init; }

    public Secret? QdrantApiKey { get; init; }

    public string? QdrantCollectionName { get; init; }

    public double? SimilarityThreshold { get; init; }

    /// <summary>supported_call_types; null (absent) = every call type, empty = none.</summary>
    public IReadOnlyList<string>? SupportedCallTypes { get; init; }

    /// <summary>default_off: cache only when a request opts in.</summary>
    public string? Mode { get; init; }

    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}

/// <summary>mcp_servers entry (stdio command + args, or url).</summary>
public sealed record McpServer
{
    public string? Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    public string? Url { get; init; }

    /// <summary>transport: stdio, sse or http.</summary>
    public string? Transport { get; init; }

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public string? Description { get; init; }
}

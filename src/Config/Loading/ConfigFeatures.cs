using System.Collections.Frozen;
using System.Text;

namespace Broker.Config.Loading;

/// <summary>
/// Which known config.yaml keys this release loads but does not act on yet. A key listed here gets one
/// "loaded; not active yet" info diagnostic when present; remove it from the list once its behaviour ships.
/// Patterns are key paths with list indexes written as <c>[]</c>.
/// </summary>
public static class ConfigFeatures
{
    public const string NotActiveMessage = "loaded; not active yet";

    /// <summary>
    /// Keys that are active only with some values (e.g. routing_strategy: simple-shuffle); any other value
    /// gets the "not active yet" note.
    /// </summary>
    public static FrozenDictionary<string, FrozenSet<string>> ActiveOnlyWithValues { get; } =
        new Dictionary<string, FrozenSet<string>>
        {
            ["router_settings.routing_strategy"] = new[]
            {
                "simple-shuffle", "least-busy", "usage-based-routing", "usage-based-routing-v2", "latency-based-routing", "cost-based-routing",
            }.ToFrozenSet(StringComparer.Ordinal),
            // the response cache runs in memory or in Redis; s3, disk and the semantic caches are read but not served yet
            ["litellm_settings.cache_params.type"] = new[] { "local", "redis" }.ToFrozenSet(StringComparer.Ordinal),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    public static FrozenSet<string> NotActiveYet { get; } = new[]
    {
        // model_list entries
        "model_list[].litellm_params.stream_timeout",
        "model_list[].litellm_params.max_retries",
        "model_list[].model_info.mode",
        "model_list[].model_info.base_model",
        "model_list[].model_info.max_input_tokens",
        "model_list[].model_info.max_output_tokens",
        "model_list[].model_info.max_tokens",

        // router_settings (model_group_alias, timeout, routing_strategy, cooldowns, redis_*, num_retries, retry_policy
        // and the fallbacks keys are active)

        // litellm_settings (request_timeout, model_group_alias, num_retries, the fallbacks keys, cache and
        // cache_params for local/redis are active)
        "litellm_settings.force_ipv4",
        "litellm_settings.cache_params.s3_bucket_name",
        "litellm_settings.cache_params.s3_region_name",
        "litellm_settings.cache_params.s3_aws_access_key_id",
        "litellm_settings.cache_params.s3_aws_secret_access_key",
        "litellm_settings.cache_params.s3_endpoint_url",
        "litellm_settings.cache_params.qdrant_semantic_cache_embedding_model",
        "litellm_settings.cache_params.redis_semantic_cache_embedding_model",
        "litellm_settings.cache_params.qdrant_api_base",
        "litellm_settings.cache_params.qdrant_api_key",
        "litellm_settings.cache_params.qdrant_collection_name",
        "litellm_settings.cache_params.similarity_threshold",
        "litellm_settings.service_callbacks",
        "litellm_settings.guardrails",
        "litellm_settings.mcp_servers",
        "litellm_settings.mcp_aliases",
        "litellm_settings.max_budget",
        "litellm_settings.budget_duration",

        // general_settings (master_key, max_parallel_requests, global_max_parallel_requests,
        // disable_retry_on_max_parallel_request_limit_error and max_request_size_mb are active)
        "general_settings.database_url",
        "general_settings.database_connection_pool_limit",
        "general_settings.database_connection_timeout",
        "general_settings.enable_jwt_auth",
        "general_settings.key_management_system",
        "general_settings.use_google_kms",
        "general_settings.disable_master_key_return",
        "general_settings.allowed_ips",
        "general_settings.allowed_routes",
        "general_settings.admin_only_routes",
        "general_settings.proxy_batch_write_at",
        "general_settings.proxy_batch_polling_interval",
        "general_settings.background_health_checks",
        "general_settings.health_check_interval",
        "general_settings.disable_health_checks",
        "general_settings.budget_local",
        "general_settings.budget_duration",
        "general_settings.budget_alert_buffer",
        "general_settings.disable_spend_logs",
        "general_settings.store_prompts_in_spend_logs",
        "general_settings.maximum_spend_logs_retention_period",
        "general_settings.allow_requests_on_db_unavailable",
        "general_settings.enforce_user_param",
        "general_settings.pass_through_endpoints",
        "general_settings.store_model_in_db",
        "general_settings.ui_access_mode",
        "general_settings.enable_oauth2_auth",
        "general_settings.oauth2_providers",
        "general_settings.custom_auth",
        "general_settings.key_generation_settings",

        // whole sections
        "callback_settings",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A key path with its list indexes blanked: <c>model_list[2].rpm</c> gives <c>model_list[].rpm</c>.</summary>
    public static string PatternOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var sb = new StringBuilder(path.Length);
        var inIndex = false;
        foreach (var c in path)
        {
            if (c == '[')
            {
                inIndex = true;
                sb.Append('[');
            }
            else if (c == ']')
            {
                inIndex = false;
                sb.Append(']');
            }
            else if (!inIndex)
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}

using System.Collections.Frozen;
using System.Text;
using Broker.Config.Model;

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
            ["router_settings.routing_strategy"] = RoutingStrategyNames.Accepted.ToFrozenSet(StringComparer.Ordinal),
            // the response cache runs in memory, in Redis, in S3 or as a Redis or Qdrant semantic cache; disk is read but not served yet
            // secrets are read from these managers; the other known names load, and os.environ/ reads the environment
            ["general_settings.key_management_system"] = KeyManagementSystems.Active,
            ["litellm_settings.cache_params.type"] = CacheTypeNames.ServedSet,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The keys this release loads but does not act on, each with what happens instead (shown in docs/compatibility.md).</summary>
    public static FrozenDictionary<string, string> NotActiveReasons { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // model_list entries
        ["model_list[].model_info.max_output_tokens"] = "informational; requests are not capped by it",
        ["model_list[].model_info.max_tokens"] = "informational: shown by /model/info; requests are not capped by it",

        // router_settings (model_group_alias, timeout, routing_strategy, cooldowns, redis_*, num_retries, retry_policy
        // and the fallbacks keys are active)

        // litellm_settings: the rest is active (request_timeout, num_retries, fallbacks, cache, callbacks,
        // max_budget and budget_duration for the proxy-wide budget, ...)
        ["litellm_settings.service_callbacks"] = "only otel is read from it (tracing)",

        // general_settings: the rest is active (keys, budgets, spend logs, alerting, JWT, IP and route rules, the
        // database settings, health checks)
        ["general_settings.proxy_batch_polling_interval"] = "batches are dispatched as their lines finish",
        ["general_settings.key_management_settings.store_virtual_keys"] = "virtual keys stay in Broker's own store (SHA-256 hashed); secrets are only read from the manager",
        ["general_settings.key_management_settings.prefix_for_stored_virtual_keys"] = "virtual keys are not written to the manager",
        ["general_settings.key_management_settings.description"] = "virtual keys are not written to the manager",
        ["general_settings.key_management_settings.tags"] = "virtual keys are not written to the manager",
        ["general_settings.litellm_jwtauth.user_email_jwt_field"] = "a JWT caller is known by its user_id_jwt_field claim; the email is not recorded",
        ["general_settings.litellm_jwtauth.user_id_upsert"] = "JWT callers are identified from their claims on each request; no user record is created",
        ["general_settings.litellm_jwtauth.team_id_upsert"] = "JWT callers are identified from their claims on each request; no team record is created",
        ["general_settings.litellm_jwtauth.end_user_id_jwt_field"] = "the end user of a JWT request is not taken from the token",
        ["general_settings.litellm_jwtauth.org_id_jwt_field"] = "organizations are not taken from the token",
        ["general_settings.litellm_jwtauth.upsert_sso_user_to_team"] = "no team membership is written from a token",
        ["general_settings.litellm_jwtauth.sync_user_role_and_teams"] = "no user record is kept in step with a token",
        ["general_settings.litellm_jwtauth.jwt_litellm_role_map"] = "roles come from role_mappings; this map grants nothing",
        ["general_settings.enable_oauth2_auth"] = "SSO sign-in is on whenever a provider is configured (oauth2_providers or a *_CLIENT_ID variable)",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Keys this release loads but does not act on yet.</summary>
    public static FrozenSet<string> NotActiveYet { get; } = NotActiveReasons.Keys.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// True when <paramref name="path"/> lies inside a key this release does not act on yet, so a problem there (an
    /// <c>os.environ/</c> variable that is not set) is a warning rather than a reason to refuse the file.
    /// </summary>
    public static bool IsInsideNotActive(string path)
    {
        var pattern = PatternOf(path);
        return NotActiveYet.Contains(pattern) || NotActiveParentOf(pattern) is not null;
    }

    /// <summary>The not-active key <paramref name="pattern"/> lies under (<c>x.y</c> or <c>x[]</c> below it), or null.</summary>
    public static string? NotActiveParentOf(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return NotActiveYet.FirstOrDefault(p => pattern.StartsWith(p + ".", StringComparison.Ordinal) || pattern.StartsWith(p + "[", StringComparison.Ordinal));
    }

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

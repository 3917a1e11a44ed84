using Broker.Config.Yaml;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// general_settings.litellm_jwtauth → the claim mappings enable_jwt_auth reads. Keys that would narrow who gets in and
/// that Broker does not enforce are errors (refused rather than silently letting callers past them); keys it reads but
/// does not act on are listed in <see cref="ConfigFeatures.NotActiveReasons"/>; anything else is an unknown-key warning.
/// </summary>
internal static class JwtAuthReader
{
    /// <summary>The keys the JWT authenticator reads.</summary>
    private static readonly string[] Active =
    [
        "public_key_url", "public_key", "public_key_ttl", "audience", "issuer", "user_id_jwt_field", "team_id_jwt_field",
        "team_ids_jwt_field", "user_roles_jwt_field", "roles_jwt_field", "role_mappings", "admin_jwt_scope",
        "user_allowed_roles",
    ];

    /// <summary>LiteLLM keys that restrict access further; ignoring one would let in callers the file keeps out.</summary>
    private static readonly string[] Restricting =
    [
        "user_allowed_email_domain", "admin_allowed_routes", "team_allowed_routes", "public_allowed_routes", "scope_mappings",
        "enforce_scope_based_access", "enforce_team_based_model_access", "custom_validate", "issuers",
        // a default team's models and budget for tokens without a team; the team of a token with internal_role: team
        "team_id_default", "object_id_jwt_field",
    ];

    public static Dictionary<string, object?> Read(MapReader g)
    {
        const string Key = "litellm_jwtauth";
        var path = g.ChildPath(Key);
        var map = g.Map(Key);
        var settings = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (map is null)
        {
            return settings;
        }

        var r = new MapReader(g.Convert, map, path);
        foreach (var key in Active)
        {
            if (r.Take(key) is { } value)
            {
                settings[key] = g.Convert.ToObject(value, r.ChildPath(key));
            }
        }

        // read as a boolean (1, yes, "true" ... as YAML and LiteLLM take them); anything else is an error, not "off"
        if (r.Take("enforce_rbac") is { } enforce)
        {
            settings["enforce_rbac"] = g.Convert.Bool(enforce, r.ChildPath("enforce_rbac"));
        }

        foreach (var key in Restricting)
        {
            // taken only when present, so the compatibility table does not list a refused key as active
            if (r.Has(key) && r.Take(key) is { } value && !IsOff(value))
            {
                g.Convert.Context.Error(value, r.ChildPath(key),
                    "Broker does not enforce this JWT restriction yet, so it refuses the file rather than let in callers it would keep out; remove the key (or turn it off) to start");
            }
        }

        foreach (var key in ConfigFeatures.NotActiveReasons.Keys.Where(k => k.StartsWith(path + ".", StringComparison.Ordinal)))
        {
            r.Take(key[(path.Length + 1)..]);
        }

        r.Finish();
        return settings;
    }

    /// <summary>false, null, or an empty list or map: the restriction is not asked for.</summary>
    private static bool IsOff(YamlNode value) => value switch
    {
        YamlScalarNode scalar when YamlScalars.IsNull(scalar) => true,
        YamlScalarNode { Value: { } text } when YamlScalars.TryParseBool(text, out var on) => !on,
        YamlSequenceNode { Children.Count: 0 } => true,
        YamlMappingNode { Children.Count: 0 } => true,
        _ => false,
    };
}

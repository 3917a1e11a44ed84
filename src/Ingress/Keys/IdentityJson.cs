using System.Globalization;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Keys;

/// <summary>Keys, users and teams in LiteLLM's response field names.</summary>
public static class IdentityJson
{
    public static JsonObject Key(KeyRecord k)
    {
        ArgumentNullException.ThrowIfNull(k);
        var json = new JsonObject
        {
            ["token"] = k.TokenHash,
            ["key_name"] = k.KeyName,
            ["key_alias"] = k.KeyAlias,
            ["user_id"] = k.UserId,
            ["team_id"] = k.TeamId,
        };
        AddShared(json, k);
        json["aliases"] = JsonNode.Parse(k.Aliases);
        json["allowed_routes"] = Strings(k.AllowedRoutes);
        json["expires"] = Time(k.Expires);
        json["blocked"] = k.Blocked;
        json["created_by"] = k.CreatedBy;
        return AddTimestamps(json, k);
    }

    public static JsonObject User(UserRecord u)
    {
        ArgumentNullException.ThrowIfNull(u);
        var json = new JsonObject
        {
            ["user_id"] = u.UserId,
            ["user_email"] = u.UserEmail,
            ["user_alias"] = u.UserAlias,
            ["user_role"] = u.UserRole,
            ["teams"] = Strings(u.Teams),
        };
        AddShared(json, u);
        return AddTimestamps(json, u);
    }

    public static JsonObject Team(TeamRecord t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var json = new JsonObject
        {
            ["team_id"] = t.TeamId,
            ["team_alias"] = t.TeamAlias,
        };
        AddShared(json, t);
        json["blocked"] = t.Blocked;
        return AddTimestamps(json, t);
    }

    /// <summary>models, spend, budgets, limits and metadata, in the order LiteLLM lists them after the ids.</summary>
    private static void AddShared(JsonObject json, IdentityRecord r)
    {
        json["models"] = Strings(r.Models);
        json["spend"] = r.Spend;
        json["max_budget"] = r.MaxBudget;
        json["soft_budget"] = r.SoftBudget;
        json["budget_duration"] = r.BudgetDuration;
        json["budget_reset_at"] = Time(r.BudgetResetAt);
        json["rpm_limit"] = r.RpmLimit;
        json["tpm_limit"] = r.TpmLimit;
        json["max_parallel_requests"] = r.MaxParallelRequests;
        json["metadata"] = JsonNode.Parse(r.Metadata);
    }

    private static JsonObject AddTimestamps(JsonObject json, IdentityRecord r)
    {
        json["created_at"] = Time(r.CreatedAt);
        json["updated_at"] = Time(r.UpdatedAt);
        return json;
    }

    private static JsonArray Strings(IReadOnlyList<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    private static string? Time(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);
}

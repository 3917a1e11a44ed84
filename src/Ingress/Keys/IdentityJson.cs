using System.Globalization;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Keys;

/// <summary>Keys, users and teams in LiteLLM's response field names.</summary>
public static class IdentityJson
{
    public static JsonObject Key(KeyRecord k)
    {
        ArgumentNullException.ThrowIfNull(k);
        return new JsonObject
        {
            ["token"] = k.TokenHash,
            ["key_name"] = k.KeyName,
            ["key_alias"] = k.KeyAlias,
            ["user_id"] = k.UserId,
            ["team_id"] = k.TeamId,
            ["models"] = Strings(k.Models),
            ["spend"] = k.Spend,
            ["max_budget"] = k.MaxBudget,
            ["soft_budget"] = k.SoftBudget,
            ["budget_duration"] = k.BudgetDuration,
            ["budget_reset_at"] = Time(k.BudgetResetAt),
            ["rpm_limit"] = k.RpmLimit,
            ["tpm_limit"] = k.TpmLimit,
            ["max_parallel_requests"] = k.MaxParallelRequests,
            ["metadata"] = JsonNode.Parse(k.Metadata),
            ["aliases"] = JsonNode.Parse(k.Aliases),
            ["allowed_routes"] = Strings(k.AllowedRoutes),
            ["expires"] = Time(k.Expires),
            ["blocked"] = k.Blocked,
            ["created_by"] = k.CreatedBy,
            ["created_at"] = Time(k.CreatedAt),
            ["updated_at"] = Time(k.UpdatedAt),
        };
    }

    public static JsonObject User(UserRecord u)
    {
        ArgumentNullException.ThrowIfNull(u);
        return new JsonObject
        {
            ["user_id"] = u.UserId,
            ["user_email"] = u.UserEmail,
            ["user_alias"] = u.UserAlias,
            ["user_role"] = u.UserRole,
            ["teams"] = Strings(u.Teams),
            ["models"] = Strings(u.Models),
            ["spend"] = u.Spend,
            ["max_budget"] = u.MaxBudget,
            ["soft_budget"] = u.SoftBudget,
            ["budget_duration"] = u.BudgetDuration,
            ["budget_reset_at"] = Time(u.BudgetResetAt),
            ["rpm_limit"] = u.RpmLimit,
            ["tpm_limit"] = u.TpmLimit,
            ["max_parallel_requests"] = u.MaxParallelRequests,
            ["metadata"] = JsonNode.Parse(u.Metadata),
            ["created_at"] = Time(u.CreatedAt),
            ["updated_at"] = Time(u.UpdatedAt),
        };
    }

    public static JsonObject Team(TeamRecord t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return new JsonObject
        {
            ["team_id"] = t.TeamId,
            ["team_alias"] = t.TeamAlias,
            ["models"] = Strings(t.Models),
            ["spend"] = t.Spend,
            ["max_budget"] = t.MaxBudget,
            ["soft_budget"] = t.SoftBudget,
            ["budget_duration"] = t.BudgetDuration,
            ["budget_reset_at"] = Time(t.BudgetResetAt),
            ["rpm_limit"] = t.RpmLimit,
            ["tpm_limit"] = t.TpmLimit,
            ["max_parallel_requests"] = t.MaxParallelRequests,
            ["metadata"] = JsonNode.Parse(t.Metadata),
            ["blocked"] = t.Blocked,
            ["created_at"] = Time(t.CreatedAt),
            ["updated_at"] = Time(t.UpdatedAt),
        };
    }

    private static JsonArray Strings(IReadOnlyList<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    private static string? Time(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);
}

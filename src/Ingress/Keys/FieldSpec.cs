namespace Broker.Ingress.Keys;

/// <summary>One field of a management request: its JSON name, its column and its kind.</summary>
public sealed record FieldSpec(string Name, string Column, FieldKind Kind)
{
    /// <summary>The fields of the columns keys, users and teams share (<see cref="IdentityRecord"/>); declared first, as the lists below use it.</summary>
    private static readonly IReadOnlyList<FieldSpec> Shared =
    [
        new("models", "models", FieldKind.TextArray),
        new("max_budget", "max_budget", FieldKind.Money),
        new("soft_budget", "soft_budget", FieldKind.Money),
        new("budget_duration", "budget_duration", FieldKind.BudgetDuration),
        new("spend", "spend", FieldKind.Money),
        new("rpm_limit", "rpm_limit", FieldKind.WholeNumber),
        new("tpm_limit", "tpm_limit", FieldKind.WholeNumber),
        new("max_parallel_requests", "max_parallel_requests", FieldKind.SmallWholeNumber),
        new("metadata", "metadata", FieldKind.Json),
    ];

    public static readonly IReadOnlyList<FieldSpec> Key =
    [
        new("key_alias", "key_alias", FieldKind.Text),
        new("user_id", "user_id", FieldKind.Text),
        new("team_id", "team_id", FieldKind.Text),
        .. Shared,
        new("aliases", "aliases", FieldKind.Json),
        new("allowed_routes", "allowed_routes", FieldKind.TextArray),
        new("duration", "expires", FieldKind.Expiry),
        new("blocked", "blocked", FieldKind.Bool),
    ];

    public static readonly IReadOnlyList<FieldSpec> User =
    [
        new("user_email", "user_email", FieldKind.Text),
        new("user_alias", "user_alias", FieldKind.Text),
        new("user_role", "user_role", FieldKind.Text),
        new("teams", "teams", FieldKind.TextArray),
        .. Shared,
    ];

    public static readonly IReadOnlyList<FieldSpec> Team =
    [
        new("team_alias", "team_alias", FieldKind.Text),
        .. Shared,
        new("blocked", "blocked", FieldKind.Bool),
    ];
}
